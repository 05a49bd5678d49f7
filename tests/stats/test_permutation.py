import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, roc_auc_score

from skcovid.metrics import sensitivity_score
from skcovid.stats import paired_permutation_test

# small on purpose: every permutation calls the metric twice, and exact means 2 ** n
RNG = np.random.RandomState(0)
Y = RNG.randint(2, size=8)
A = np.where(RNG.rand(8) < 0.9, Y, 1 - Y)
B = np.where(RNG.rand(8) < 0.4, Y, 1 - Y)


def _scipy(y, a, b, metric, **kwargs):
    return stats.permutation_test(
        (a, b), lambda x, z: metric(y, x) - metric(y, z), permutation_type="samples",
        vectorized=False, **kwargs,
    ).pvalue


def test_exact_equals_scipy_and_mlxtend():
    evaluate = pytest.importorskip("mlxtend.evaluate")
    result = paired_permutation_test(Y, A, B)
    assert result.exact and result.n_permutations == 2**8
    assert result.pvalue == pytest.approx(_scipy(Y, A, B, accuracy_score))
    # mlxtend swaps the per-sample correctness of the two models: the same null
    expected = evaluate.permutation_test((A == Y).astype(float), (B == Y).astype(float),
                                         paired=True, method="exact")
    assert result.pvalue == pytest.approx(expected)
    assert result.statistic == pytest.approx(accuracy_score(Y, A) - accuracy_score(Y, B))


def _brier(y, proba):  # a cheap metric on scores: the test calls it thousands of times
    return np.mean((proba - y) ** 2)


def test_any_metric_and_random_permutations():
    rng = np.random.RandomState(1)
    y = rng.randint(2, size=40)
    a = np.clip(0.6 * y + 0.4 * rng.rand(40), 0, 1)
    b = np.clip(0.3 * y + 0.7 * rng.rand(40), 0, 1)
    result = paired_permutation_test(y, a, b, metric=_brier, n_permutations=3000, random_state=0)
    assert not result.exact and result.n_permutations == 3000
    expected = _scipy(y, a, b, _brier, n_resamples=3000, rng=np.random.default_rng(5))
    assert result.pvalue == pytest.approx(expected, abs=0.01)
    assert result.statistic == pytest.approx(_brier(y, a) - _brier(y, b))
    again = paired_permutation_test(y, a, b, metric=_brier, n_permutations=3000, random_state=0)
    assert again.pvalue == result.pvalue  # random_state makes it repeatable
    auc = paired_permutation_test(y[:6], a[:6], b[:6], metric=roc_auc_score)
    assert auc.pvalue == pytest.approx(_scipy(y[:6], a[:6], b[:6], roc_auc_score))


def test_groups_swap_whole_patients():
    """Three identical scans per patient: the same test as on one scan per patient."""
    labels = np.array(["Non_COVID", "COVID"])
    def sens(y, pred):  # numpy, not sensitivity_score: called for every permutation
        return np.mean(pred[y == "COVID"] == "COVID")

    assert sens(labels[Y], labels[A]) == sensitivity_score(labels[Y], labels[A], pos_label="COVID")
    once = paired_permutation_test(labels[Y], labels[A], labels[B], metric=sens)
    copies = np.repeat(np.arange(8), 3)
    grouped = paired_permutation_test(labels[Y][copies], labels[A][copies], labels[B][copies],
                                      metric=sens, groups=copies)
    assert grouped.pvalue == pytest.approx(once.pvalue) and grouped.n_permutations == 2**8
    scans = paired_permutation_test(labels[Y][copies], labels[A][copies], labels[B][copies],
                                    metric=sens, n_permutations=500, random_state=0)
    assert scans.pvalue < grouped.pvalue  # swapping scans alone overstates the evidence


def test_errors():
    with pytest.raises(ValueError, match="y_b has 5"):
        paired_permutation_test(Y, A, B[:5])
    with pytest.raises(ValueError, match="'n_permutations' parameter"):
        paired_permutation_test(Y, A, B, n_permutations=0)
