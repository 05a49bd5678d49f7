"""DeLong's test for correlated ROC AUCs, with the fast algorithm of Sun & Xu (2014).

DeLong, DeLong & Clarke-Pearson (1988) estimate the covariance of ROC AUCs computed on
the same samples from "structural components": for each positive, the share of
negatives it outscores, and for each negative, the share of positives that outscore it.
Sun & Xu obtain them from midranks in O(n log n) instead of O(n^2) comparisons.
"""

from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy import stats

from ..metrics._validation import binary_target, check_labels, check_same_length, check_scores
from ..utils._param_validation import Interval, validate_params

_CI = {"ci": [Interval(Real, 0, 1, closed="neither")]}


def _delong_components(is_pos, scores):
    """AUCs and their DeLong covariance for the rows of ``scores`` (n_scores, n_samples)."""
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
    covariance = np.atleast_2d(np.cov(v_pos)) / m + np.atleast_2d(np.cov(v_neg)) / n
    return aucs, covariance


def _normal_interval(estimate, variance, ci, low=0.0, high=1.0):
    half = stats.norm.ppf(0.5 + ci / 2) * np.sqrt(max(variance, 0.0))
    return (float(max(estimate - half, low)), float(min(estimate + half, high)))


def _prepare(y_true, pos_label, **scores):
    y_true = check_labels(y_true, "y_true")
    checked = [check_scores(s, name) for name, s in scores.items()]
    check_same_length(y_true=y_true, **scores)
    is_pos, _ = binary_target(y_true, pos_label)
    return is_pos, np.vstack(checked)


def delong_roc_variance(y_true, y_score, *, pos_label=None):
    """ROC AUC and its DeLong variance.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores of the positive class.
    pos_label : int, float, bool or str, default=None
        The positive class; inferred only for {0, 1}, {-1, 1} and booleans.

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
    is_pos, scores = _prepare(y_true, pos_label, y_score=y_score)
    aucs, covariance = _delong_components(is_pos, scores)
    return float(aucs[0]), float(covariance[0, 0])


@validate_params(_CI)
def auc_ci(y_true, y_score, *, ci=0.95, pos_label=None):
    """DeLong confidence interval of the ROC AUC: ``auc +/- z * sqrt(variance)``.

    The interval is clipped to [0, 1].

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

    Returns
    -------
    low, high : float
        The interval bounds.

    Examples
    --------
    >>> from skcovid.stats import auc_ci
    >>> low, high = auc_ci([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.7])
    >>> round(low, 3), round(high, 3)
    (0.581, 1.0)
    """
    auc, variance = delong_roc_variance(y_true, y_score, pos_label=pos_label)
    return _normal_interval(auc, variance, ci)


@dataclass(frozen=True, eq=False)
class DeLongResult:
    """Result of :func:`delong_test`.

    Attributes
    ----------
    statistic : float
        z = (auc_a - auc_b) / sd(auc_a - auc_b).
    pvalue : float
        Two-sided p-value.
    auc_a, auc_b, auc_diff : float
        The two AUCs and ``auc_a - auc_b``.
    auc_a_ci, auc_b_ci, auc_diff_ci : tuple of float
        DeLong (normal) confidence intervals at level ``ci``.
    covariance : ndarray of shape (2, 2)
        DeLong covariance matrix of ``(auc_a, auc_b)``.
    ci : float
        Confidence level of the intervals.
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


@validate_params(_CI)
def delong_test(y_true, y_score_a, y_score_b, *, pos_label=None, ci=0.95):
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

    Returns
    -------
    result : DeLongResult
        ``statistic`` (z), ``pvalue``, the AUCs, their difference, intervals and
        covariance.

    Notes
    -----
    Identical scores give ``statistic = 0`` and ``pvalue = 1``. The algorithm is
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
    is_pos, scores = _prepare(y_true, pos_label, y_score_a=y_score_a, y_score_b=y_score_b)
    aucs, covariance = _delong_components(is_pos, scores)
    diff = float(aucs[0] - aucs[1])
    diff_variance = max(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1], 0.0)
    if diff_variance > 0:
        statistic = diff / np.sqrt(diff_variance)
    else:  # the same ranking of every pair: nothing to test
        statistic = 0.0 if np.isclose(diff, 0) else np.copysign(np.inf, diff)
    return DeLongResult(
        statistic=float(statistic),
        pvalue=float(2 * stats.norm.sf(abs(statistic))),
        auc_a=float(aucs[0]),
        auc_b=float(aucs[1]),
        auc_diff=diff,
        auc_a_ci=_normal_interval(aucs[0], covariance[0, 0], ci),
        auc_b_ci=_normal_interval(aucs[1], covariance[1, 1], ci),
        auc_diff_ci=_normal_interval(diff, diff_variance, ci, low=-1.0),
        covariance=covariance,
        ci=ci,
    )
