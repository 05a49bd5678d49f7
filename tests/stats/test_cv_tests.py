import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skcovid.stats import combined_ftest_5x2cv, corrected_resampled_ttest, paired_ttest_5x2cv

X, Y = make_classification(n_samples=120, n_features=5, random_state=0)
MODEL_A = LogisticRegression(solver="liblinear")
MODEL_B = LogisticRegression(C=0.01, solver="liblinear")


def test_t_statistic_recomputed_from_differences():
    result = paired_ttest_5x2cv(MODEL_A, MODEL_B, X, Y, random_state=0)
    p = result.differences
    assert p.shape == (5, 2)
    np.testing.assert_allclose(p, result.scores_a - result.scores_b)
    s2 = (p[:, 0] - p.mean(axis=1)) ** 2 + (p[:, 1] - p.mean(axis=1)) ** 2
    t = p[0, 0] / np.sqrt(s2.mean())
    assert result.statistic == pytest.approx(t)
    assert result.pvalue == pytest.approx(2 * stats.t.sf(abs(t), 5))
    assert result.df == 5


def test_f_statistic_recomputed_from_differences():
    result = combined_ftest_5x2cv(MODEL_A, MODEL_B, X, Y, random_state=0)
    p = result.differences
    s2 = (p[:, 0] - p.mean(axis=1)) ** 2 + (p[:, 1] - p.mean(axis=1)) ** 2
    f = np.sum(p**2) / (2 * s2.sum())
    assert result.statistic == pytest.approx(f)
    assert result.pvalue == pytest.approx(stats.f.sf(f, 10, 5))
    assert result.df == (10, 5)
    same_splits = paired_ttest_5x2cv(MODEL_A, MODEL_B, X, Y, random_state=0)
    np.testing.assert_allclose(same_splits.differences, p)


@pytest.mark.parametrize("test", [paired_ttest_5x2cv, combined_ftest_5x2cv])
def test_identical_models_give_p_one(test):
    result = test(MODEL_A, MODEL_A, X, Y, random_state=0)
    assert result.pvalue == 1.0 and result.statistic == 0.0
    np.testing.assert_array_equal(result.differences, 0)


def test_swapping_models_keeps_p():
    forward = paired_ttest_5x2cv(MODEL_A, MODEL_B, X, Y, random_state=1)
    backward = paired_ttest_5x2cv(MODEL_B, MODEL_A, X, Y, random_state=1)
    assert forward.statistic == pytest.approx(-backward.statistic)
    assert forward.pvalue == pytest.approx(backward.pvalue)
    f_forward = combined_ftest_5x2cv(MODEL_A, MODEL_B, X, Y, random_state=1)
    f_backward = combined_ftest_5x2cv(MODEL_B, MODEL_A, X, Y, random_state=1)
    assert f_forward.pvalue == pytest.approx(f_backward.pvalue)


def test_groups_keep_patients_on_one_side(leak_check, grouped_data):
    X_grouped, y, patients = grouped_data
    result = paired_ttest_5x2cv(leak_check(), DummyClassifier(), X_grouped, y, groups=patients,
                                random_state=0)
    assert result.pvalue == 1.0  # both predict the majority class
    with pytest.raises(AssertionError, match="both training and test"):
        paired_ttest_5x2cv(leak_check(), DummyClassifier(), X_grouped, y, random_state=0)


def test_scan_table_dataframe_and_scoring_names():
    rng = np.random.RandomState(0)
    images = [rng.rand(4, 4) + label for label in Y]
    table = pd.DataFrame({"image": images, "modality": "xray"}, index=rng.permutation(120) + 1000)
    flatten = FunctionTransformer(lambda df: np.stack([img.ravel() for img in df["image"]]))
    model = make_pipeline(flatten, LogisticRegression(solver="liblinear"))
    result = combined_ftest_5x2cv(model, DummyClassifier(), table, pd.Series(Y, index=table.index),
                                  scoring="sensitivity", random_state=0)
    assert np.all(result.scores_a > 0.9) and np.all(result.scores_b == 0) | np.all(result.scores_b == 1)


def test_corrected_resampled_ttest_formula():
    rng = np.random.RandomState(0)
    a, b = 0.8 + 0.02 * rng.randn(10, 10), 0.78 + 0.02 * rng.randn(10, 10)
    result = corrected_resampled_ttest(a, b, n_train=90, n_test=10)
    d = (a - b).ravel()
    t = d.mean() / np.sqrt((1 / 100 + 10 / 90) * d.var(ddof=1))
    assert result.statistic == pytest.approx(t)
    assert result.pvalue == pytest.approx(2 * stats.t.sf(abs(t), 99))
    assert result.df == 99 and result.mean_difference == pytest.approx(d.mean())
    naive = stats.ttest_rel(a.ravel(), b.ravel())
    assert result.pvalue > naive.pvalue  # the correction is more conservative
    swapped = corrected_resampled_ttest(b, a, n_train=90, n_test=10)
    assert swapped.pvalue == pytest.approx(result.pvalue)
    same = corrected_resampled_ttest(a, a, n_train=90, n_test=10)
    assert same.pvalue == 1.0 and same.statistic == 0.0


@pytest.mark.parametrize(
    "a, b, kwargs, message",
    [
        ([0.1, 0.2], [0.1], {}, "paired scores"),
        ([0.1, np.nan], [0.1, 0.2], {}, "finite"),
        ([0.1, 0.2], [0.1, 0.3], {"n_train": 0}, "n_train must be"),
    ],
)
def test_corrected_resampled_ttest_errors(a, b, kwargs, message):
    with pytest.raises(ValueError, match=message):
        corrected_resampled_ttest(a, b, **{"n_train": 10, "n_test": 5, **kwargs})


class _OneFeatureThreshold(ClassifierMixin, BaseEstimator):
    """Cheap classifier: thresholds one feature midway between the class means."""

    def __init__(self, column=0):
        self.column = column

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.cut_ = (X[y == 0, self.column].mean() + X[y == 1, self.column].mean()) / 2
        return self

    def predict(self, X):
        return (X[:, self.column] > self.cut_).astype(int)


@pytest.mark.slow
def test_type_one_error_near_alpha():
    """Two models on two equally informative features: few false rejections."""
    rng = np.random.RandomState(0)
    n_sims = 60
    rejections = {"t": 0, "f": 0}
    model_a, model_b = _OneFeatureThreshold(0), _OneFeatureThreshold(1)
    for sim in range(n_sims):
        y = rng.randint(2, size=60)
        X_sim = y[:, None] * 1.0 + rng.normal(size=(60, 2))
        rejections["t"] += paired_ttest_5x2cv(model_a, model_b, X_sim, y, random_state=sim).pvalue < 0.05
        rejections["f"] += combined_ftest_5x2cv(model_a, model_b, X_sim, y, random_state=sim).pvalue < 0.05
    for name, count in rejections.items():
        assert count / n_sims <= 0.15, (name, count / n_sims)


def _mlxtend_splits(n, random_seed):
    """The ten splits mlxtend's 5x2cv functions draw for ``random_seed``."""
    from sklearn.model_selection import train_test_split

    rng = np.random.RandomState(random_seed)
    splits = []
    for _ in range(5):
        first, second = train_test_split(np.arange(n), test_size=0.5,
                                         random_state=rng.randint(low=0, high=32767))
        splits += [(first, second), (second, first)]
    return splits


@pytest.mark.parametrize("ours, theirs", [("paired_ttest_5x2cv", "paired_ttest_5x2cv"),
                                          ("combined_ftest_5x2cv", "combined_ftest_5x2cv")])
def test_cv_splits_reproduce_mlxtend(ours, theirs):
    evaluate = pytest.importorskip("mlxtend.evaluate")
    import skcovid.stats

    expected = getattr(evaluate, theirs)(MODEL_A, MODEL_B, X, Y, random_seed=3)
    result = getattr(skcovid.stats, ours)(MODEL_A, MODEL_B, X, Y, cv=_mlxtend_splits(len(Y), 3))
    assert (result.statistic, result.pvalue) == pytest.approx(expected)


class _LeakCheckRegressor(RegressorMixin, BaseEstimator):
    """Mean regressor whose first feature is a patient id; fails on a patient leak."""

    def fit(self, X, y):
        self.train_patients_, self.mean_ = set(X[:, 0].tolist()), float(np.mean(y))
        return self

    def predict(self, X):
        assert not self.train_patients_ & set(X[:, 0].tolist()), "patient leak"
        return np.full(len(X), self.mean_) + 0.01 * X[:, 1]


@pytest.mark.parametrize("test", [paired_ttest_5x2cv, combined_ftest_5x2cv])
def test_groups_with_a_regressor(test, grouped_data):
    X_grouped, _, patients = grouped_data
    y = X_grouped[:, 1] + np.random.RandomState(0).normal(size=len(patients))
    result = test(_LeakCheckRegressor(), Ridge(), X_grouped, y, groups=patients, random_state=0)
    assert np.isfinite(result.pvalue) and result.differences.shape == (5, 2)
    assert not np.allclose(result.differences, 0)


def test_cv_splitter_and_its_checks():
    cv = RepeatedStratifiedKFold(n_splits=2, n_repeats=5, random_state=0)
    result = paired_ttest_5x2cv(MODEL_A, MODEL_B, X, Y, cv=cv)
    for (train, test), a in zip(cv.split(X, Y), result.scores_a.ravel()):
        model = LogisticRegression(solver="liblinear").fit(X[train], Y[train])
        assert a == pytest.approx(model.score(X[test], Y[test]))
    with pytest.raises(ValueError, match="is an int"):
        paired_ttest_5x2cv(MODEL_A, MODEL_B, X, Y, cv=2)
    with pytest.raises(ValueError, match="gives 4 splits"):
        paired_ttest_5x2cv(MODEL_A, MODEL_B, X, Y, cv=KFold(4))
    overlapping = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)
    with pytest.raises(ValueError, match="share test samples"):
        combined_ftest_5x2cv(MODEL_A, MODEL_B, X, Y, cv=overlapping)


def test_result_repr_is_rounded():
    text = repr(paired_ttest_5x2cv(MODEL_A, MODEL_B, X, Y, random_state=0))
    assert text.startswith("FiveByTwoResult(") and "statistic=" in text
    assert "np.float64" not in text and "e-0" not in text.split("pvalue=")[0]
    digits = [n.replace(".", "").lstrip("0") for n in re.findall(r"\d+\.\d+", text)]
    assert digits and max(map(len, digits)) <= 4  # 4 significant digits


def test_corrected_ttest_equals_baycomps_correlated_posterior():
    """Nadeau-Bengio's corrected t is the standardised posterior of Corani & Benavoli's
    correlated Bayesian t-test (rho = 1/k for k folds, i.e. n_test/n_train = 1/(k-1))."""
    baycomp = pytest.importorskip("baycomp")
    rng = np.random.RandomState(0)
    a = 0.8 + 0.03 * rng.randn(10)
    b = a - 0.01 + 0.02 * rng.randn(10)
    result = corrected_resampled_ttest(a, b, n_train=900, n_test=100)
    posterior = baycomp.CorrelatedTTest(a, b, rope=0, runs=1)
    assert result.df == posterior.df
    assert abs(result.statistic) == pytest.approx(abs(posterior.mean) / np.sqrt(posterior.var), rel=1e-10)
    assert result.pvalue == pytest.approx(2 * min(posterior.probs()), rel=1e-10)
