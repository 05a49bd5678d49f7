import numpy as np
import pytest

from skcovid.stats import mcnemar_test


def _predictions(table):
    """y_true and two prediction vectors realising a 2x2 agreement table."""
    (both, only_a), (only_b, neither) = table
    n = both + only_a + only_b + neither
    y = np.ones(n, dtype=int)
    a = np.r_[np.ones(both + only_a), np.zeros(only_b + neither)].astype(int)
    b = np.r_[np.ones(both), np.zeros(only_a), np.ones(only_b), np.zeros(neither)].astype(int)
    return y, a, b


TABLES = [[[50, 3], [9, 10]], [[30, 12], [4, 8]], [[100, 40], [20, 5]], [[10, 0], [7, 2]],
          [[200, 31], [48, 15]]]


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("exact, correction", [(True, True), (False, True), (False, False)])
def test_equals_statsmodels(table, exact, correction):
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    expected = contingency.mcnemar(np.array(table), exact=exact, correction=correction)
    result = mcnemar_test(*_predictions(table), exact=exact, correction=correction)
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.pvalue == pytest.approx(expected.pvalue)
    np.testing.assert_array_equal(result.table, table)


def test_auto_switches_to_chi2_at_25_discordant():
    assert mcnemar_test(*_predictions([[10, 20], [4, 0]])).method == "exact"
    assert mcnemar_test(*_predictions([[10, 20], [5, 0]])).method == "chi2"


@pytest.mark.parametrize("exact", ["auto", True, False])
def test_identical_predictions_give_p_one(exact):
    y, a, _ = _predictions([[20, 5], [6, 9]])
    result = mcnemar_test(y, a, a, exact=exact)
    assert result.pvalue == 1.0 and result.b == result.c == 0


@pytest.mark.parametrize("table", TABLES)
def test_swapping_models_keeps_p(table):
    y, a, b = _predictions(table)
    forward, backward = mcnemar_test(y, a, b), mcnemar_test(y, b, a)
    assert forward.pvalue == pytest.approx(backward.pvalue)
    assert (forward.b, forward.c) == (backward.c, backward.b)


def test_equal_discordant_counts_give_p_one_with_correction():
    result = mcnemar_test(*_predictions([[10, 30], [30, 5]]))
    assert result.statistic == 0.0 and result.pvalue == 1.0


def test_string_and_multiclass_labels():
    y = np.array(["COVID", "Normal", "Pneumonia", "COVID", "Normal"])
    a = np.array(["COVID", "Normal", "Pneumonia", "Normal", "Normal"])
    b = np.array(["Normal", "Normal", "COVID", "COVID", "Normal"])
    result = mcnemar_test(y, a, b)
    assert (result.b, result.c) == (2, 1)


def test_errors_name_arguments():
    with pytest.raises(ValueError, match="y_pred_b has 2"):
        mcnemar_test([0, 1, 1], [0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="'exact' parameter"):
        mcnemar_test([0, 1], [0, 1], [0, 1], exact="yes")


@pytest.mark.slow
@pytest.mark.parametrize("exact", ["auto", False])
def test_type_one_error_near_alpha(exact):
    """Two equally accurate, independent classifiers: rejections at 5 % stay near 5 %."""
    rng = np.random.RandomState(0)
    n_sims, n = 400, 150
    y = rng.randint(2, size=n)
    rejections = 0
    for _ in range(n_sims):
        a = np.where(rng.rand(n) < 0.8, y, 1 - y)
        b = np.where(rng.rand(n) < 0.8, y, 1 - y)
        rejections += mcnemar_test(y, a, b, exact=exact).pvalue < 0.05
    assert 0.01 <= rejections / n_sims <= 0.08  # the continuity correction is conservative


@pytest.mark.parametrize(
    "y, a, message",
    [
        ([0, 1, 1, 0], [0.2, 0.7, 0.9, 0.4], "looks like scores or probabilities"),
        (["COVID", "Non_COVID", "COVID"], [1, 0, 1], r"labels \[0, 1\] but y_true has \['COVID'"),
        ([0, 1, 1], ["COVID", "Non_COVID", "COVID"], "no predicted label is a true label"),
    ],
)
def test_scores_and_mismatched_labels_are_refused(y, a, message):
    with pytest.raises(ValueError, match=message) as error:
        mcnemar_test(y, a, np.asarray(y))
    assert "np.str_" not in str(error.value) and "np.float64" not in str(error.value)


def test_readable_repr():
    result = mcnemar_test(*_predictions([[50, 3], [9, 10]]))
    assert repr(result) == ("McNemarResult(statistic=3.0, pvalue=0.146, method='exact', "
                            "table=[[50,  3], [ 9, 10]])")
