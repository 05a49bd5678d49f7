"""McNemar's test: do two classifiers make errors on the same samples at the same rate?"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..metrics._format import result_repr
from ..metrics._validation import check_labels, check_predicted_labels, check_same_length
from ..utils._param_validation import BOOLEAN, Options, validate_params

_EXACT_BELOW = 25  # "auto": exact binomial test below this many discordant samples


@dataclass(frozen=True, eq=False)
class McNemarResult:
    """Result of :func:`mcnemar_test`.

    Attributes
    ----------
    statistic : float
        ``min(b, c)`` for the exact test, the chi-squared statistic otherwise.
    pvalue : float
        Two-sided p-value.
    method : str
        ``"exact"`` (binomial) or ``"chi2"``.
    table : ndarray of shape (2, 2)
        ``[[both correct, only a correct], [only b correct, both wrong]]``.
    """

    statistic: float
    pvalue: float
    method: str
    table: np.ndarray

    __repr__ = result_repr

    @property
    def b(self):
        """Samples that model a gets right and model b gets wrong."""
        return int(self.table[0, 1])

    @property
    def c(self):
        """Samples that model b gets right and model a gets wrong."""
        return int(self.table[1, 0])


@validate_params({
    "exact": [Options("auto"), BOOLEAN],
    "correction": [BOOLEAN],
})
def mcnemar_test(y_true, y_pred_a, y_pred_b, *, exact="auto", correction=True):
    """McNemar's test comparing the accuracies of two classifiers on the same samples.

    Only the discordant samples count: ``b`` that model a gets right and b wrong,
    ``c`` the reverse. Under the null hypothesis of equal error rates ``b`` is
    Binomial(b + c, 1/2).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (any labels, including strings; multiclass is fine).
    y_pred_a, y_pred_b : array-like of shape (n_samples,)
        Predicted labels of the two models on the same samples, of the same type as
        ``y_true`` (scores or probabilities are refused: threshold them first).
    exact : "auto" or bool, default="auto"
        ``True``: exact binomial test; ``False``: chi-squared approximation;
        ``"auto"``: exact when ``b + c < 25``.
    correction : bool, default=True
        Edwards' continuity correction of the chi-squared statistic,
        ``max(|b - c| - 1, 0) ** 2 / (b + c)``. (statsmodels does not clip at 0, which
        only matters when ``b == c``, where this gives p = 1.)

    Returns
    -------
    result : McNemarResult
        ``statistic``, ``pvalue``, ``method`` and the 2x2 ``table``.

    See Also
    --------
    delong_test : compare ROC AUCs from scores.

    Examples
    --------
    >>> from skcovid.stats import mcnemar_test
    >>> y = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0]
    >>> a = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0]
    >>> b = [0, 0, 1, 1, 1, 0, 0, 1, 0, 0]
    >>> result = mcnemar_test(y, a, b)
    >>> result.method, result.b, result.c, round(result.pvalue, 4)
    ('exact', 5, 0, 0.0625)
    """
    y_true = check_labels(y_true, "y_true")
    y_pred_a = check_labels(y_pred_a, "y_pred_a")
    y_pred_b = check_labels(y_pred_b, "y_pred_b")
    check_same_length(y_true=y_true, y_pred_a=y_pred_a, y_pred_b=y_pred_b)
    check_predicted_labels(y_true, y_pred_a, "y_pred_a")
    check_predicted_labels(y_true, y_pred_b, "y_pred_b")
    right_a, right_b = y_pred_a == y_true, y_pred_b == y_true
    table = np.array([
        [np.sum(right_a & right_b), np.sum(right_a & ~right_b)],
        [np.sum(~right_a & right_b), np.sum(~right_a & ~right_b)],
    ])
    b, c = int(table[0, 1]), int(table[1, 0])
    use_exact = (b + c < _EXACT_BELOW) if exact == "auto" else bool(exact)
    if use_exact:
        statistic = min(b, c)
        pvalue = min(1.0, 2 * stats.binom.cdf(statistic, b + c, 0.5))
    elif b + c == 0:
        statistic, pvalue = 0.0, 1.0
    else:
        distance = max(abs(b - c) - 1, 0) if correction else abs(b - c)
        statistic = distance**2 / (b + c)
        pvalue = stats.chi2.sf(statistic, 1)
    return McNemarResult(float(statistic), float(pvalue), "exact" if use_exact else "chi2", table)
