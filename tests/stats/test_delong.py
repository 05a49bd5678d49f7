import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from skcovid.stats import auc_ci, delong_roc_variance, delong_test


def _brute_force_delong(y, scores):
    """DeLong et al. (1988) with O(n^2) pairwise comparisons."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)  # per positive, per negative
    aucs = psi.mean(axis=(1, 2))
    covariance = np.cov(v10) / pos.shape[1] + np.cov(v01) / neg.shape[1]
    return aucs, covariance


def _data(n=150, seed=0, rho=0.5):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    noise = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    a = np.round(y * 1.0 + noise[:, 0], 1)  # rounding makes ties
    b = np.round(y * 0.7 + noise[:, 1], 1)
    return y, a, b


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_brute_force(seed):
    y, a, b = _data(seed=seed)
    aucs, covariance = _brute_force_delong(y, np.vstack([a, b]))
    result = delong_test(y, a, b)
    np.testing.assert_allclose([result.auc_a, result.auc_b], aucs)
    np.testing.assert_allclose(result.covariance, covariance)
    z = (aucs[0] - aucs[1]) / np.sqrt(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])
    assert result.statistic == pytest.approx(z)
    assert result.pvalue == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert result.auc_a == pytest.approx(roc_auc_score(y, a))
    assert result.auc_diff == pytest.approx(aucs[0] - aucs[1])
    auc, variance = delong_roc_variance(y, a)
    assert (auc, variance) == pytest.approx((aucs[0], covariance[0, 0]))


def test_variance_agrees_with_bootstrap():
    y, a, _ = _data(n=300, seed=5)
    _, variance = delong_roc_variance(y, a)
    idx = np.random.RandomState(0).randint(len(y), size=(4000, len(y)))
    y_boot, a_boot = y[idx], a[idx]
    n_pos = y_boot.sum(axis=1)
    n_neg = len(y) - n_pos
    rank_sum = np.sum(stats.rankdata(a_boot, axis=1) * y_boot, axis=1)  # Mann-Whitney AUC
    replicates = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert replicates[0] == pytest.approx(roc_auc_score(y_boot[0], a_boot[0]))
    assert np.var(replicates) == pytest.approx(variance, rel=0.12)


def test_auc_ci_is_normal_interval():
    y, a, _ = _data()
    auc, variance = delong_roc_variance(y, a)
    low, high = auc_ci(y, a, ci=0.9)
    half = stats.norm.ppf(0.95) * np.sqrt(variance)
    assert (low, high) == pytest.approx((auc - half, auc + half))
    result = delong_test(y, a, a, ci=0.9)
    assert result.auc_a_ci == pytest.approx((low, high))


def test_identical_scores_give_p_one():
    y, a, _ = _data()
    result = delong_test(y, a, a)
    assert result.statistic == 0.0 and result.pvalue == 1.0
    # a monotone transformation ranks identically: same AUC, nothing to test
    assert delong_test(y, a, np.exp(a)).pvalue == 1.0


def test_swapping_models_flips_z_keeps_p():
    y, a, b = _data(seed=3)
    forward, backward = delong_test(y, a, b), delong_test(y, b, a)
    assert forward.statistic == pytest.approx(-backward.statistic)
    assert forward.pvalue == pytest.approx(backward.pvalue)


def test_string_labels_need_pos_label():
    y, a, b = _data()
    labels = np.where(y == 1, "COVID", "Non_COVID")
    assert delong_test(labels, a, b, pos_label="COVID").auc_a == pytest.approx(roc_auc_score(y, a))
    with pytest.raises(ValueError, match="pos_label"):
        delong_test(labels, a, b)


@pytest.mark.parametrize(
    "y, a, message",
    [
        ([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4], "only one class"),
        ([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.4], "y_score_a contains 1 NaN"),
        ([0, 1, 0, 1], [0.1, 0.2, 0.3], "y_score_a has 3"),
        ([0, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], "at least two of each"),
        ([0, 1, 0, 1], np.ones((4, 2)), "1-D"),
    ],
)
def test_bad_input(y, a, message):
    with pytest.raises(ValueError, match=message):
        delong_test(y, a, [0.4, 0.3, 0.2, 0.1])


@pytest.mark.slow
def test_type_one_error_near_alpha():
    """Two correlated scores with the same true AUC: rejections at 5 % stay near 5 %."""
    rng = np.random.RandomState(1)
    n_sims, n = 400, 200
    rejections = 0
    for _ in range(n_sims):
        y = rng.randint(2, size=n)
        noise = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=n)
        rejections += delong_test(y, y + noise[:, 0], y + noise[:, 1]).pvalue < 0.05
    assert 0.02 <= rejections / n_sims <= 0.085
