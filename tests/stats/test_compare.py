import warnings

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from scipy import stats
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, cross_val_score
from sklearn.naive_bayes import GaussianNB

from skcovid.stats import adjust_pvalues, compare_estimators, corrected_resampled_ttest

X, Y = make_classification(n_samples=150, n_features=6, random_state=0)
MODELS = {
    "logreg": LogisticRegression(solver="liblinear"),
    "nb": GaussianNB(),
    "dummy": DummyClassifier(),
}


def test_scores_use_the_same_folds():
    result = compare_estimators(MODELS, X, Y, cv=5)
    assert result.scores.shape == (5, 3) and list(result.scores.columns) == list(MODELS)
    for name, model in MODELS.items():
        expected = cross_val_score(model, X, Y, cv=StratifiedKFold(5))
        np.testing.assert_allclose(result.scores[name], expected)
    assert result.n_train == 120 and result.n_test == 30


def test_pairwise_tests_and_corrections():
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)
    result = compare_estimators(MODELS, X, Y, cv=cv, correction="bonferroni")
    assert len(result.pairwise) == 3
    first = result.pairwise.iloc[0]
    assert (first.model_a, first.model_b) == ("logreg", "nb")
    direct = corrected_resampled_ttest(result.scores["logreg"], result.scores["nb"],
                                       n_train=120, n_test=30)
    assert first.pvalue == pytest.approx(direct.pvalue)
    assert first.statistic == pytest.approx(direct.statistic)
    np.testing.assert_allclose(result.pairwise.pvalue_corrected,
                               adjust_pvalues(result.pairwise.pvalue, method="bonferroni"))
    assert result.test == "corrected_ttest" and result.friedman is not None
    assert result.pairwise.set_index("model_b").loc["dummy", "pvalue_corrected"].max() < 0.05


def test_summary_intervals():
    result = compare_estimators(MODELS, X, Y, cv=5, ci=0.9)
    summary = result.summary
    assert list(summary.index) == list(MODELS)
    scores = result.scores["nb"]
    half = stats.t.ppf(0.95, 4) * np.sqrt((1 / 5 + 30 / 120) * scores.var(ddof=1))
    assert summary.loc["nb", "ci_low"] == pytest.approx(scores.mean() - half)
    assert summary.loc["nb", "ci_high"] == pytest.approx(scores.mean() + half)


def test_identical_models_and_wilcoxon():
    twins = {"a": GaussianNB(), "b": GaussianNB()}
    result = compare_estimators(twins, X, Y, cv=5)
    assert result.pairwise.pvalue.iloc[0] == 1.0 and result.friedman is None
    with pytest.warns(UserWarning, match="smallest p-value .* is 0.0625"):
        wilcoxon = compare_estimators(twins, X, Y, cv=5, test="wilcoxon")
    assert wilcoxon.pairwise.pvalue.iloc[0] == 1.0
    different = compare_estimators({"nb": GaussianNB(), "dummy": DummyClassifier()}, X, Y,
                                   cv=10, test="wilcoxon", scoring="roc_auc")
    expected = stats.wilcoxon(different.scores["nb"] - different.scores["dummy"]).pvalue
    assert different.pairwise.pvalue.iloc[0] == pytest.approx(expected)


def test_groups_and_parallel_jobs(leak_check, grouped_data):
    X_grouped, y, patients = grouped_data
    models = {"leak": leak_check(), "nb": GaussianNB()}
    serial = compare_estimators(models, X_grouped, y, cv=4, groups=patients)
    with parallel_config(backend="threading"):  # no worker start-up cost in the test
        parallel = compare_estimators(models, X_grouped, y, cv=4, groups=patients, n_jobs=2)
    pd.testing.assert_frame_equal(serial.scores, parallel.scores)
    with pytest.raises(AssertionError, match="both training and test"):
        compare_estimators(models, X_grouped, y, cv=4)


def test_scan_table_and_clinical_scoring():
    table = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)], index=np.arange(150) * 7)
    table["modality"] = "ct"
    features = table.drop(columns="modality")
    result = compare_estimators(MODELS, features, pd.Series(Y, index=table.index), cv=3,
                                scoring="specificity")
    assert result.scores["dummy"].isin([0.0, 1.0]).all()


@pytest.mark.parametrize(
    "estimators, kwargs, message",
    [
        ({"nb": GaussianNB()}, {}, "at least two"),
        (MODELS, {"test": "ttest"}, "'test' parameter"),
        (MODELS, {"scoring": ["accuracy", "roc_auc"]}, "one metric at a time"),
    ],
)
def test_bad_arguments(estimators, kwargs, message):
    with pytest.raises(ValueError, match=message):
        compare_estimators(estimators, X, Y, **kwargs)


def test_wilcoxon_refuses_repeated_cv():
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)
    with pytest.raises(ValueError, match="repeated cross-validation.*corrected_ttest"):
        compare_estimators(MODELS, X, Y, cv=cv, test="wilcoxon")


def test_wilcoxon_can_reject_with_ten_folds():
    """Ten independent folds: the smallest attainable p (0.002) is below 0.05."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "cannot reject" warning with 10 folds
        result = compare_estimators({"logreg": LogisticRegression(solver="liblinear"),
                                     "dummy": DummyClassifier()}, X, Y, cv=10, test="wilcoxon")
    assert result.pairwise.pvalue.iloc[0] == pytest.approx(2 / 2**10)


@pytest.mark.parametrize("correction", ["holm-sidak", "hochberg", "fdr_by"])
def test_new_corrections(correction):
    result = compare_estimators(MODELS, X, Y, cv=5, correction=correction)
    np.testing.assert_allclose(result.pairwise.pvalue_corrected,
                               adjust_pvalues(result.pairwise.pvalue, method=correction))
    assert result.correction == correction


def test_repr_shows_rounded_tables():
    text = repr(compare_estimators(MODELS, X, Y, cv=3))
    assert text.startswith("ComparisonResult(") and "\nsummary:\n" in text
    assert "friedman=FriedmanResult(statistic=" in text and "np.float64" not in text
