import numpy as np
import pytest

from skcovid.stats import adjust_pvalues

PVALUES = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9, 0.0, 1.0])
# skcovid name -> statsmodels' multipletests name
METHODS = {"holm": "holm", "holm-sidak": "holm-sidak", "hochberg": "simes-hochberg",
           "bonferroni": "bonferroni", "sidak": "sidak", "fdr_bh": "fdr_bh", "fdr_by": "fdr_by"}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [None, 0, 1])
def test_equals_statsmodels(method, seed):
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    pvalues = PVALUES if seed is None else np.random.RandomState(seed).beta(0.3, 1, size=25)
    with np.errstate(divide="ignore"):  # statsmodels' Sidak at p = 1
        expected = multitest.multipletests(pvalues, method=METHODS[method])[1]
    np.testing.assert_allclose(adjust_pvalues(pvalues, method=method), expected, atol=1e-15)


def test_none_and_errors():
    np.testing.assert_array_equal(adjust_pvalues(PVALUES, method=None), PVALUES)
    with pytest.raises(ValueError, match="'method' parameter"):
        adjust_pvalues(PVALUES, method="fdr_tsbh")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([0.5, 1.5])
