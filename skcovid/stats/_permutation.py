"""Paired permutation test of the difference of any metric between two models."""

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state

from ..metrics._format import result_repr
from ..metrics._resampling import group_codes
from ..metrics._validation import check_labels, check_same_length
from ..utils._param_validation import RANDOM_STATE, Interval, validate_params


@dataclass(frozen=True, eq=False)
class PermutationTestResult:
    """Result of :func:`paired_permutation_test`.

    Attributes
    ----------
    statistic : float
        ``metric(y_true, y_a) - metric(y_true, y_b)``.
    pvalue : float
        Two-sided permutation p-value.
    score_a, score_b : float
        The metric of each model.
    n_permutations : int
        Permutations evaluated (``2 ** n_units`` when ``exact``).
    exact : bool
        Whether every permutation was enumerated (else a random sample of them).
    """

    statistic: float
    pvalue: float
    score_a: float
    score_b: float
    n_permutations: int
    exact: bool

    __repr__ = result_repr


def swap_statistic(y_true, y_a, y_b, metric, codes):
    """``statistic(x, y)`` for :func:`scipy.stats.permutation_test` on unit ids.

    The data handed to scipy are ``x = arange(G)`` and ``y = arange(G) + G`` for ``G``
    units (patients, or samples): after scipy swaps pair ``i``, ``x[i] >= G`` says unit
    ``i`` has its two models' outputs exchanged.
    """
    n_units = int(codes.max()) + 1

    def statistic(x, _):
        swapped = (np.asarray(x) >= n_units)[codes]
        a, b = np.where(swapped, y_b, y_a), np.where(swapped, y_a, y_b)
        return metric(y_true, a) - metric(y_true, b)

    return statistic


def permutation_pvalue(statistic, n_units, n_permutations, random_state):
    """scipy's paired permutation test on ``statistic`` (see :func:`swap_statistic`)."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    units = np.arange(n_units)
    result = stats.permutation_test(
        (units, units + n_units), statistic, permutation_type="samples", vectorized=False,
        n_resamples=n_permutations, rng=np.random.default_rng(seed),
    )
    exact = n_permutations >= 2**n_units
    return float(result.pvalue), (2**n_units if exact else n_permutations), exact


@validate_params({
    "n_permutations": [Interval(Integral, 1, None)],
    "random_state": [RANDOM_STATE, None],
})
def paired_permutation_test(y_true, y_a, y_b, *, metric=accuracy_score, groups=None,
                            n_permutations=9999, random_state=None):
    """Paired permutation test of ``metric(model a) - metric(model b)`` on the same samples.

    Under the null hypothesis the two models are exchangeable on every sample, so
    swapping their outputs on any subset of samples leaves the distribution of the
    difference unchanged. The p-value is the share of swaps whose difference is at
    least as extreme as the observed one (two-sided, :func:`scipy.stats.permutation_test`
    conventions). All ``2 ** n`` swaps are enumerated when ``n_permutations`` allows,
    else a random sample is drawn. Works for any metric: accuracy, sensitivity at a
    fixed threshold, F1, ROC AUC, Brier score...

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_a, y_b : array-like of shape (n_samples,)
        The two models' outputs, whatever ``metric`` takes: predicted labels, or scores
        on the same scale (e.g. both probabilities; for ROC AUC alone, scores of any
        scale can be made comparable by ranking each, ``scipy.stats.rankdata``).
    metric : callable, default=accuracy_score
        ``metric(y_true, y)``, e.g. ``functools.partial(sensitivity_score,
        pos_label="COVID")`` or :func:`sklearn.metrics.roc_auc_score`.
    groups : array-like of shape (n_samples,), default=None
        Patient ids: all scans of a patient are swapped together, which keeps the test
        valid when scans of one patient are correlated.
    n_permutations : int, default=9999
        Number of random permutations; with at most ``log2(n_permutations)`` samples
        (or patients) the test is exact.
    random_state : int, RandomState instance or None, default=None
        Seeds the random permutations.

    Returns
    -------
    result : PermutationTestResult
        ``statistic`` (the difference), ``pvalue``, both metrics and how many
        permutations were used.

    See Also
    --------
    mcnemar_test : accuracy of two classifiers from the discordant pairs.
    delong_test : two ROC AUCs with DeLong's variance.

    Examples
    --------
    >>> from skcovid.stats import paired_permutation_test
    >>> y = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0]
    >>> a = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0]
    >>> b = [0, 0, 1, 1, 1, 0, 0, 1, 0, 0]
    >>> result = paired_permutation_test(y, a, b)
    >>> result.statistic, round(result.pvalue, 4), result.exact
    (0.5, 0.0625, True)
    """
    y_true = check_labels(y_true, "y_true")
    y_a, y_b = check_labels(y_a, "y_a"), check_labels(y_b, "y_b")
    check_same_length(y_true=y_true, y_a=y_a, y_b=y_b, groups=groups)
    codes = group_codes(groups, len(y_true))
    statistic = swap_statistic(y_true, y_a, y_b, metric, codes)
    n_units = int(codes.max()) + 1
    pvalue, n_used, exact = permutation_pvalue(statistic, n_units, n_permutations, random_state)
    score_a, score_b = float(metric(y_true, y_a)), float(metric(y_true, y_b))
    return PermutationTestResult(score_a - score_b, pvalue, score_a, score_b, n_used, exact)
