"""DeLong's test for correlated ROC AUCs, with the fast algorithm of Sun & Xu (2014).

DeLong, DeLong & Clarke-Pearson (1988) estimate the covariance of ROC AUCs computed on
the same samples from "structural components": for each positive, the share of
negatives it outscores, and for each negative, the share of positives that outscore it.
Sun & Xu obtain them from midranks in O(n log n) instead of O(n^2) comparisons. With
several scans per patient, Obuchowski (1997, Biometrics 53(2)) sums the components
within each patient (cluster) and takes their variance over patients.
"""

import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy import stats

from ..metrics._format import result_repr
from ..metrics._resampling import group_codes
from ..metrics._validation import binary_target, check_labels, check_same_length, check_scores
from ..utils._param_validation import RANDOM_STATE, Interval, Options, validate_params
from ._auc_interval import AUC_CI_METHODS, auc_interval, normal_interval
from ._permutation import permutation_pvalue, swap_statistic

_CI = {"ci": [Interval(Real, 0, 1, closed="neither")]}
_PERMUTATIONS = 9999  # exact below 14 samples (patients), else this many random swaps


def _cluster_sums(values, codes, n_clusters):
    """Sum of each row of ``values`` over the samples of every cluster: (k, n_clusters)."""
    out = np.zeros((values.shape[0], n_clusters))
    for row, v in zip(out, values):
        row += np.bincount(codes, weights=v, minlength=n_clusters)
    return out


def _obuchowski_covariance(aucs, v_pos, v_neg, codes_pos, codes_neg, n_clusters):
    """Obuchowski's clustered covariance of the AUCs from the structural components."""
    m, n = v_pos.shape[1], v_neg.shape[1]
    m_i = np.bincount(codes_pos, minlength=n_clusters)
    n_i = np.bincount(codes_neg, minlength=n_clusters)
    with_pos, with_neg = int((m_i > 0).sum()), int((n_i > 0).sum())
    if with_pos < 2 or with_neg < 2:
        raise ValueError(
            f"groups has {with_pos} patient(s) with positive and {with_neg} with negative "
            "samples; the clustered DeLong variance needs at least two of each."
        )
    a = _cluster_sums(v_pos, codes_pos, n_clusters) - np.outer(aucs, m_i)
    b = _cluster_sums(v_neg, codes_neg, n_clusters) - np.outer(aucs, n_i)
    s10 = with_pos / ((with_pos - 1) * m) * (a @ a.T)
    s01 = with_neg / ((with_neg - 1) * n) * (b @ b.T)
    s11 = n_clusters / (n_clusters - 1) * (a @ b.T)
    return s10 / m + s01 / n + (s11 + s11.T) / (m * n)


def _delong_components(is_pos, scores, codes=None):
    """AUCs and their DeLong covariance for the rows of ``scores`` (n_scores, n_samples).

    ``codes`` (cluster id of each sample) gives Obuchowski's clustered covariance.
    """
    m, n = int(is_pos.sum()), int((~is_pos).sum())
    if m < 2 or n < 2:
        raise ValueError(
            f"y_true has {m} positive and {n} negative samples; DeLong's variance needs at "
            "least two of each."
        )
    positives, negatives = scores[:, is_pos], scores[:, ~is_pos]
    rank_all = stats.rankdata(np.hstack([positives, negatives]), axis=1)
    rank_pos = stats.rankdata(positives, axis=1)
    rank_neg = stats.rankdata(negatives, axis=1)
    # share of negatives below each positive, share of positives above each negative
    v_pos = (rank_all[:, :m] - rank_pos) / n
    v_neg = 1.0 - (rank_all[:, m:] - rank_neg) / m
    aucs = v_pos.mean(axis=1)
    if codes is None:
        covariance = np.atleast_2d(np.cov(v_pos)) / m + np.atleast_2d(np.cov(v_neg)) / n
    else:
        covariance = _obuchowski_covariance(aucs, v_pos, v_neg, codes[is_pos], codes[~is_pos],
                                            int(codes.max()) + 1)
    return aucs, covariance


def _prepare(y_true, pos_label, groups, **scores):
    y_true = check_labels(y_true, "y_true")
    checked = [check_scores(s, name) for name, s in scores.items()]
    check_same_length(y_true=y_true, groups=groups, **scores)
    is_pos, _ = binary_target(y_true, pos_label)
    codes = None if groups is None else group_codes(groups, len(y_true))
    return is_pos, np.vstack(checked), codes


_GROUPS_DOC = """groups : array-like of shape (n_samples,), default=None
        Patient ids when a patient has several scans: the variance is then
        Obuchowski's clustered DeLong variance (and the bootstrap resamples patients)."""


def delong_roc_variance(y_true, y_score, *, pos_label=None, groups=None):
    """ROC AUC and its DeLong variance.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores of the positive class.
    pos_label : int, float, bool or str, default=None
        The positive class; inferred only for {0, 1}, {-1, 1} and booleans.
    groups : array-like of shape (n_samples,), default=None
        Patient ids when a patient has several scans: the variance is then
        Obuchowski's clustered DeLong variance.

    Returns
    -------
    auc : float
        ROC AUC (equal to :func:`sklearn.metrics.roc_auc_score`).
    variance : float
        DeLong's estimate of its variance.

    Examples
    --------
    >>> from skcovid.stats import delong_roc_variance
    >>> auc, var = delong_roc_variance([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.7])
    >>> round(auc, 4), round(var, 4)
    (0.8889, 0.0247)
    """
    is_pos, scores, codes = _prepare(y_true, pos_label, groups, y_score=y_score)
    aucs, covariance = _delong_components(is_pos, scores, codes)
    return float(aucs[0]), float(covariance[0, 0])


@validate_params({
    **_CI,
    "method": [Options(*AUC_CI_METHODS)],
    "n_bootstraps": [Interval(Integral, 1, None)],
    "random_state": [RANDOM_STATE, None],
})
def auc_ci(y_true, y_score, *, ci=0.95, pos_label=None, method="delong", groups=None,
           n_bootstraps=2000, random_state=None):
    """Confidence interval of the ROC AUC.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores of the positive class.
    ci : float, default=0.95
        Confidence level.
    pos_label : int, float, bool or str, default=None
        The positive class; inferred only for {0, 1}, {-1, 1} and booleans.
    method : {"delong", "logit", "bootstrap"}, default="delong"
        ``"delong"``: ``auc +/- z * se`` with DeLong's standard error, clipped to
        [0, 1]. ``"logit"``: the same on the logit scale, back-transformed; it stays
        inside (0, 1) and is the better choice for small samples or AUCs near 1.
        ``"bootstrap"``: percentile bootstrap (``n_bootstraps`` replicates; replicates
        with one class are dropped). When the variance estimate is zero (perfect
        separation, or all scores tied) every method would give a zero-width interval:
        a ``RuntimeWarning`` is raised and the Hanley-McNeil score interval returned.
    groups : array-like of shape (n_samples,), default=None
        Patient ids when a patient has several scans: Obuchowski's clustered variance
        (``"delong"``, ``"logit"``) or a patient-level bootstrap.
    n_bootstraps : int, default=2000
        Replicates of ``method="bootstrap"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap.

    Returns
    -------
    low, high : float
        The interval bounds.

    Examples
    --------
    >>> from skcovid.stats import auc_ci
    >>> y, score = [0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.7]
    >>> low, high = auc_ci(y, score)
    >>> round(low, 3), round(high, 3)
    (0.581, 1.0)
    >>> low, high = auc_ci(y, score, method="logit")
    >>> round(low, 3), round(high, 3)
    (0.261, 0.995)
    """
    is_pos, scores, codes = _prepare(y_true, pos_label, groups, y_score=y_score)
    aucs, covariance = _delong_components(is_pos, scores, codes)
    return auc_interval(
        aucs[0], covariance[0, 0], is_pos, scores[0], group_codes(groups, len(is_pos)),
        method=method, ci=ci, n_bootstraps=n_bootstraps, random_state=random_state,
    )


@dataclass(frozen=True, eq=False)
class DeLongResult:
    """Result of :func:`delong_test`.

    Attributes
    ----------
    statistic : float
        z = (auc_a - auc_b) / sd(auc_a - auc_b); NaN when that standard deviation is
        zero and the AUCs differ (see ``method``).
    pvalue : float
        Two-sided p-value.
    auc_a, auc_b, auc_diff : float
        The two AUCs and ``auc_a - auc_b``.
    auc_a_ci, auc_b_ci, auc_diff_ci : tuple of float
        Confidence intervals at level ``ci``: those of the AUCs by ``ci_method`` (see
        :func:`auc_ci`), DeLong's normal interval of the difference (NaN when its
        variance is zero).
    covariance : ndarray of shape (2, 2)
        DeLong (or clustered) covariance matrix of ``(auc_a, auc_b)``.
    ci : float
        Confidence level of the intervals.
    method : str
        ``"delong"``, or ``"permutation"`` when DeLong's variance of the difference
        is zero and the exact (or 9999-swap) paired permutation p-value is reported.
    """

    statistic: float
    pvalue: float
    auc_a: float
    auc_b: float
    auc_diff: float
    auc_a_ci: tuple
    auc_b_ci: tuple
    auc_diff_ci: tuple
    covariance: np.ndarray
    ci: float
    method: str = "delong"

    __repr__ = result_repr


def _permutation_pvalue(is_pos, scores, codes):
    """Paired permutation p-value of the AUC difference (scores ranked to one scale)."""
    ranked = stats.rankdata(scores, axis=1)

    m, n = int(is_pos.sum()), int((~is_pos).sum())

    def auc(y, score):  # Mann-Whitney U from the rank sum of the positives
        return (stats.rankdata(score)[y].sum() - m * (m + 1) / 2) / (m * n)

    statistic = swap_statistic(is_pos, ranked[0], ranked[1], auc, codes)
    return permutation_pvalue(statistic, int(codes.max()) + 1, _PERMUTATIONS, 0)[0]


@validate_params({**_CI, "ci_method": [Options(*AUC_CI_METHODS)]})
def delong_test(y_true, y_score_a, y_score_b, *, pos_label=None, ci=0.95, groups=None,
                ci_method="delong"):
    """DeLong's test of two correlated ROC AUCs (two models scored on the same samples).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score_a, y_score_b : array-like of shape (n_samples,)
        Scores of the positive class from the two models.
    pos_label : int, float, bool or str, default=None
        The positive class; inferred only for {0, 1}, {-1, 1} and booleans.
    ci : float, default=0.95
        Confidence level of the AUC intervals.
    groups : array-like of shape (n_samples,), default=None
        Patient ids when a patient has several scans: the test then uses Obuchowski's
        clustered covariance (scans of one patient are correlated; ignoring that makes
        p-values too small).
    ci_method : {"delong", "logit", "bootstrap"}, default="delong"
        Interval of each AUC (see :func:`auc_ci`; the bootstrap uses 2000 replicates
        and ``random_state=0``).

    Returns
    -------
    result : DeLongResult
        ``statistic`` (z), ``pvalue``, the AUCs, their difference, intervals and
        covariance.

    Notes
    -----
    Identical scores (or identical rankings) give ``statistic = 0`` and ``pvalue = 1``.
    When the AUCs differ but DeLong's variance of the difference is zero (e.g. four
    samples, one model ranks them perfectly and the other in reverse), the normal
    approximation would claim ``p = 0``: a ``RuntimeWarning`` is raised and the paired
    permutation p-value (each model's scores ranked, exact up to 13 samples or
    patients) is reported instead, with ``method="permutation"``. The algorithm is
    O(n log n) (Sun & Xu, 2014, IEEE Signal Processing Letters 21(11)).

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.stats import delong_test
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=300)
    >>> good, weak = y + rng.normal(0, 0.7, 300), y + rng.normal(0, 1.5, 300)
    >>> result = delong_test(y, good, weak)
    >>> round(result.auc_a, 3), round(result.auc_b, 3), bool(result.pvalue < 0.05)
    (0.858, 0.651, True)
    """
    is_pos, scores, codes = _prepare(y_true, pos_label, groups, y_score_a=y_score_a,
                                     y_score_b=y_score_b)
    aucs, covariance = _delong_components(is_pos, scores, codes)
    diff = float(aucs[0] - aucs[1])
    diff_variance = max(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1], 0.0)
    method, diff_ci = "delong", normal_interval(diff, diff_variance, ci, low=-1.0)
    all_codes = group_codes(groups, len(is_pos))
    if np.isclose(diff, 0) and diff_variance <= 1e-15:  # the same ranking of every pair
        statistic, pvalue = 0.0, 1.0
    elif diff_variance <= 1e-15:
        statistic, pvalue = np.nan, _permutation_pvalue(is_pos, scores, all_codes)
        method, diff_ci = "permutation", (np.nan, np.nan)
        warnings.warn(
            f"DeLong's variance of the AUC difference is zero (AUCs {aucs[0]:.4g} and "
            f"{aucs[1]:.4g} from {len(is_pos)} samples), so the normal test would report "
            f"p = 0. The paired permutation p-value ({pvalue:.4g}) is reported instead.",
            RuntimeWarning,
            stacklevel=3,
        )
    else:
        statistic = diff / np.sqrt(diff_variance)
        pvalue = 2 * stats.norm.sf(abs(statistic))
    intervals = []
    for i, name in enumerate("ab"):  # a loop, not a comprehension: warnings point at the caller
        intervals.append(auc_interval(
            aucs[i], covariance[i, i], is_pos, scores[i], all_codes, method=ci_method, ci=ci,
            n_bootstraps=2000, random_state=0, name=f"the AUC of model {name}",
        ))
    return DeLongResult(
        statistic=float(statistic),
        pvalue=float(pvalue),
        auc_a=float(aucs[0]),
        auc_b=float(aucs[1]),
        auc_diff=diff,
        auc_a_ci=intervals[0],
        auc_b_ci=intervals[1],
        auc_diff_ci=diff_ci,
        covariance=covariance,
        ci=ci,
        method=method,
    )
