import numpy as np
import pytest

from skcovid.stats import adjust_pvalues

PVALUES = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9])


@pytest.mark.parametrize("method", ["holm", "bonferroni", "fdr_bh"])
def test_equals_statsmodels(method):
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    expected = multitest.multipletests(PVALUES, method=method)[1]
    np.testing.assert_allclose(adjust_pvalues(PVALUES, method=method), expected)


def test_none_and_errors():
    np.testing.assert_array_equal(adjust_pvalues(PVALUES, method=None), PVALUES)
    with pytest.raises(ValueError, match="'method' parameter"):
        adjust_pvalues(PVALUES, method="sidak")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([0.5, 1.5])
