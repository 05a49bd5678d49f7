"""Adjusting p-values for multiple comparisons.

The methods and their names are those of ``statsmodels.stats.multitest.multipletests``
(the tests check them against it); Benjamini-Hochberg and Benjamini-Yekutieli come from
:func:`scipy.stats.false_discovery_control`. statsmodels stays an optional (test)
dependency: these few lines do not justify a core dependency on it.
"""

import numpy as np
from scipy import stats

from ..utils._param_validation import Options, validate_params


def _sidak(p, k):
    """``1 - (1 - p) ** k`` without cancellation for small ``p`` (``p = 1`` gives 1)."""
    with np.errstate(divide="ignore"):
        return -np.expm1(k * np.log1p(-p))


#: Family-wise error rate: step-down (Holm) or step-up (Hochberg) by p-value rank.
_STEPWISE = {
    "holm": ("down", lambda p, k: p * k),
    "holm-sidak": ("down", _sidak),
    "hochberg": ("up", lambda p, k: p * k),
}
CORRECTIONS = ("holm", "holm-sidak", "hochberg", "bonferroni", "sidak", "fdr_bh", "fdr_by")


@validate_params({"method": [Options(*CORRECTIONS), None]})
def adjust_pvalues(pvalues, method="holm"):
    """Adjust p-values for multiple testing.

    Parameters
    ----------
    pvalues : array-like of shape (n_tests,)
        Raw p-values.
    method : str or None, default="holm"
        Family-wise error rate control: ``"bonferroni"`` (``p * m``), ``"sidak"``
        (``1 - (1 - p) ** m``), ``"holm"`` and ``"holm-sidak"`` (their step-down
        versions, never less powerful), ``"hochberg"`` (step-up; valid for independent
        or positively dependent tests). False discovery rate control: ``"fdr_bh"``
        (Benjamini-Hochberg, independent or positively dependent tests) and
        ``"fdr_by"`` (Benjamini-Yekutieli, any dependence). None returns the p-values
        unchanged. The names are those of statsmodels' ``multipletests``, except
        ``"hochberg"`` (its ``"simes-hochberg"``).

    Returns
    -------
    adjusted : ndarray of shape (n_tests,)
        Adjusted p-values, capped at 1, in the input order.

    Examples
    --------
    >>> from skcovid.stats import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="holm")
    array([0.03, 0.06, 0.06])
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="hochberg")
    array([0.03, 0.04, 0.04])
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="fdr_bh")
    array([0.03, 0.04, 0.04])
    """
    p = np.asarray(pvalues, dtype=float).ravel()
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("pvalues must lie in [0, 1] with no NaN.")
    m = p.size
    if method is None or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method == "sidak":
        return _sidak(p, m)
    if method in ("fdr_bh", "fdr_by"):
        return stats.false_discovery_control(p, method=method[-2:])
    direction, adjust = _STEPWISE[method]
    order = np.argsort(p, kind="mergesort")
    ranked = adjust(p[order], m - np.arange(m))
    if direction == "down":
        adjusted = np.maximum.accumulate(ranked)
    else:
        adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out
