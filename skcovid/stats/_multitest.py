"""Adjusting p-values for multiple comparisons."""

import numpy as np

from ..utils._param_validation import Options, validate_params


@validate_params({"method": [Options("holm", "bonferroni", "fdr_bh"), None]})
def adjust_pvalues(pvalues, method="holm"):
    """Adjust p-values for multiple testing.

    Parameters
    ----------
    pvalues : array-like of shape (n_tests,)
        Raw p-values.
    method : {"holm", "bonferroni", "fdr_bh"} or None, default="holm"
        ``"bonferroni"`` multiplies by the number of tests; ``"holm"`` is Holm's
        step-down version (controls the family-wise error rate, never less powerful);
        ``"fdr_bh"`` is Benjamini-Hochberg (controls the false discovery rate);
        None returns the p-values unchanged.

    Returns
    -------
    adjusted : ndarray of shape (n_tests,)
        Adjusted p-values, capped at 1, in the input order.

    Examples
    --------
    >>> from skcovid.stats import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="holm")
    array([0.03, 0.06, 0.06])
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
    order = np.argsort(p, kind="mergesort")
    ranked = p[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(ranked * (m - np.arange(m)))
    else:
        adjusted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out
