import re

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


def _rank_auc(y, score, axis=-1):
    """Mann-Whitney AUC of each row (last axis) from rank sums: vectorised."""
    n_pos = y.sum(axis=-1)
    rank_sum = np.sum(stats.rankdata(score, axis=-1) * y, axis=-1)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * (y.shape[-1] - n_pos))


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
    replicates = _rank_auc(y_boot, a_boot)
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


PERFECT_Y, PERFECT, REVERSED = [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], [0.9, 0.8, 0.2, 0.1]


def test_degenerate_variance_reports_the_permutation_pvalue():
    with pytest.warns(RuntimeWarning) as caught:
        result = delong_test(PERFECT_Y, PERFECT, REVERSED)
    messages = [str(w.message) for w in caught]
    assert any("variance of the AUC difference is zero" in m for m in messages)
    assert sum("Hanley-McNeil" in m for m in messages) == 2  # both AUC intervals
    y = np.array(PERFECT_Y) == 1
    expected = stats.permutation_test(  # scipy's exact paired permutation test
        (np.array(PERFECT), np.array(REVERSED)),
        lambda a, b: roc_auc_score(y, a) - roc_auc_score(y, b),
        permutation_type="samples", vectorized=False,
    ).pvalue
    assert result.pvalue == pytest.approx(expected) == pytest.approx(0.125)
    assert result.method == "permutation" and np.isnan(result.statistic)
    assert (result.auc_a, result.auc_b) == (1.0, 0.0)


def test_degenerate_auc_interval_has_positive_width():
    with pytest.warns(RuntimeWarning, match="Hanley-McNeil score interval"):
        low, high = auc_ci(PERFECT_Y, PERFECT)
    assert high == 1.0 and low < 0.9
    # low is the root of (1 - t)^2 = z^2 var(t), var of Hanley & McNeil with N = (m + n) / 2
    z2, m, n, big_n = stats.norm.ppf(0.975) ** 2, 2, 2, 2
    var = low * (1 - low) / (m * n) * (1 + (big_n - 1) * ((1 - low) / (2 - low) + low / (1 + low)))
    assert (1 - low) ** 2 == pytest.approx(z2 * var)


def test_logit_interval_formula_and_range():
    y, a, _ = _data(n=40, seed=4)
    auc, variance = delong_roc_variance(y, a)
    low, high = auc_ci(y, a, method="logit")
    half = stats.norm.ppf(0.975) * np.sqrt(variance) / (auc * (1 - auc))
    logit = np.log(auc / (1 - auc))
    assert (low, high) == pytest.approx((1 / (1 + np.exp(-(logit - half))),
                                         1 / (1 + np.exp(-(logit + half)))))
    assert 0 < low < auc < high < 1


def test_bootstrap_interval_agrees_with_scipy():
    y, a, _ = _data(n=200, seed=6)
    low, high = auc_ci(y, a, method="bootstrap", n_bootstraps=4000, random_state=0)
    reference = stats.bootstrap((y, a), _rank_auc, paired=True, vectorized=True,
                                n_resamples=4000, method="percentile",
                                rng=np.random.default_rng(0)).confidence_interval
    assert (low, high) == pytest.approx((reference.low, reference.high), abs=0.012)


def test_clustered_delong_reduces_to_delong_and_to_deduplicated_data():
    y, a, b = _data(n=120, seed=2)
    plain = delong_test(y, a, b)
    singletons = delong_test(y, a, b, groups=np.arange(120))
    np.testing.assert_allclose(singletons.covariance, plain.covariance)
    assert singletons.pvalue == pytest.approx(plain.pvalue)
    # three identical scans per patient carry no more information than one scan
    copies = np.repeat(np.arange(120), 3)
    clustered = delong_test(y[copies], a[copies], b[copies], groups=copies)
    np.testing.assert_allclose(clustered.covariance, plain.covariance)
    naive = delong_test(y[copies], a[copies], b[copies])
    assert naive.pvalue < clustered.pvalue  # ignoring patients overstates the evidence
    auc, variance = delong_roc_variance(y[copies], a[copies], groups=copies)
    assert variance == pytest.approx(plain.covariance[0, 0])


def test_clustered_variance_agrees_with_cluster_bootstrap():
    rng = np.random.RandomState(7)
    patients = np.repeat(np.arange(150), 2)
    y = np.repeat(rng.randint(2, size=150), 2)
    score = y + np.repeat(rng.normal(size=150), 2) + 0.5 * rng.normal(size=300)
    _, variance = delong_roc_variance(y, score, groups=patients)
    drawn = rng.randint(150, size=(3000, 150))  # patients, then both their scans
    rows = (2 * drawn[:, :, None] + np.arange(2)).reshape(3000, 300)
    assert np.var(_rank_auc(y[rows], score[rows])) == pytest.approx(variance, rel=0.12)


def test_readable_repr():
    y, a, b = _data()
    text = repr(delong_test(y, a, b))
    assert text.startswith("DeLongResult(") and "method='delong'" in text
    digits = [n.replace(".", "").lstrip("0") for n in re.findall(r"\d+\.\d+", text)]
    assert digits and max(map(len, digits)) <= 4  # 4 significant digits
