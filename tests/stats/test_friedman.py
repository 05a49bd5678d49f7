import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skcovid.stats import friedman_test

RNG = np.random.RandomState(0)
SCORES = pd.DataFrame(
    np.round(RNG.rand(12, 4) * 0.1 + [0.80, 0.82, 0.78, 0.81], 2),  # rounding makes ties
    columns=["resnet", "vgg", "densenet", "mtl"],
)


def test_statistic_equals_scipy_and_ranks_by_hand():
    result = friedman_test(SCORES)
    expected = stats.friedmanchisquare(*SCORES.to_numpy().T)
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.pvalue == pytest.approx(expected.pvalue)
    ranks = SCORES.rank(axis=1, ascending=False).mean()
    pd.testing.assert_series_equal(result.average_ranks, ranks, check_names=False)
    lower = friedman_test(SCORES, greater_is_better=False)
    np.testing.assert_allclose(lower.average_ranks, 5 - ranks)


@pytest.mark.parametrize("k, q_table", [(3, 2.343), (4, 2.569), (5, 2.728), (6, 2.850), (10, 3.164)])
def test_critical_difference_matches_demsar_table(k, q_table):
    n = 20
    scores = np.random.RandomState(k).rand(n, k)
    result = friedman_test(scores)
    assert result.critical_difference == pytest.approx(q_table * np.sqrt(k * (k + 1) / (6 * n)), abs=1e-3)


def test_nemenyi_pvalues_agree_with_critical_difference():
    scores = np.column_stack([RNG.rand(30) + shift for shift in (0.0, 0.15, 0.3, 0.6)])
    result = friedman_test(scores, alpha=0.05)
    ranks = result.average_ranks.to_numpy()
    pvalues = result.pairwise_pvalues.to_numpy()
    np.testing.assert_allclose(pvalues, pvalues.T)
    np.testing.assert_array_equal(np.diag(pvalues), 1.0)
    gaps = np.abs(ranks[:, None] - ranks[None, :])
    off_diagonal = ~np.eye(4, dtype=bool)
    np.testing.assert_array_equal((pvalues < 0.05)[off_diagonal],
                                  (gaps > result.critical_difference)[off_diagonal])
    assert (pvalues[0, 3] < 0.05) and result.pvalue < 0.05


def test_all_ties_give_p_one():
    result = friedman_test(np.ones((5, 3)))
    assert result.statistic == 0.0 and result.pvalue == 1.0
    np.testing.assert_array_equal(result.pairwise_pvalues, 1.0)


@pytest.mark.parametrize(
    "scores, message",
    [(np.ones((5, 2)), "at least 3 models"), (np.ones((1, 3)), "2 datasets"),
     (np.array([[1.0, 2.0, np.nan], [1, 2, 3]]), "NaN")],
)
def test_bad_scores(scores, message):
    with pytest.raises(ValueError, match=message):
        friedman_test(scores)


def test_nemenyi_equals_scikit_posthocs():
    posthocs = pytest.importorskip("scikit_posthocs")
    result = friedman_test(SCORES)
    expected = posthocs.posthoc_nemenyi_friedman(SCORES.to_numpy())
    np.testing.assert_allclose(result.pairwise_pvalues.to_numpy(), expected.to_numpy(), atol=1e-6)
