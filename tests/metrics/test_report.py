import time

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.preprocessing import label_binarize

from skcovid.metrics import clinical_report


def _binary_data(n=300, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    score = np.clip(0.3 * y + 0.7 * rng.rand(n), 0, 1)
    return y, score


def _values(report, group="all", cls=None):
    rows = report[report.group == group]
    if cls is not None:
        rows = rows[rows["class"] == cls]
    return rows.set_index("metric")["value"]


def test_binary_point_estimates_equal_sklearn():
    y, score = _binary_data()
    pred = score >= 0.5
    report = clinical_report(y, score, n_bootstraps=50, random_state=0)
    values = _values(report)
    expected = {
        "accuracy": metrics.accuracy_score(y, pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
        "sensitivity": metrics.recall_score(y, pred),
        "specificity": metrics.recall_score(y, pred, pos_label=0),
        "ppv": metrics.precision_score(y, pred),
        "npv": metrics.precision_score(y, pred, pos_label=0),
        "f1": metrics.f1_score(y, pred),
        "mcc": metrics.matthews_corrcoef(y, pred),
        "roc_auc": metrics.roc_auc_score(y, score),
        "pr_auc": metrics.average_precision_score(y, score),
        "brier": metrics.brier_score_loss(y, score),
    }
    assert list(values.index) == list(expected)
    for name, value in expected.items():
        assert values[name] == pytest.approx(value), name
    assert (report["n"] == len(y)).all() and (report["class"] == 1).all()
    assert (report.ci_low <= report.value).all() and (report.value <= report.ci_high).all()


def test_threshold_and_y_pred():
    y, score = _binary_data()
    at_07 = _values(clinical_report(y, score, threshold=0.7, ci=None))
    assert at_07["sensitivity"] == pytest.approx(metrics.recall_score(y, score >= 0.7))
    from_pred = _values(clinical_report(y, score, y_pred=(score >= 0.7).astype(int), ci=None))
    pd.testing.assert_series_equal(at_07, from_pred)
    labels_only = clinical_report(y, y_pred=(score >= 0.7).astype(int), ci=None)
    assert not {"roc_auc", "pr_auc", "brier"} & set(labels_only.metric)


def test_two_column_probabilities_and_string_labels():
    y, score = _binary_data()
    labels = np.where(y == 1, "COVID", "Non_COVID")
    proba = np.column_stack([score, 1 - score])  # columns: sorted classes COVID, Non_COVID
    report = clinical_report(labels, proba, pos_label="COVID", n_bootstraps=100, random_state=0)
    reference = clinical_report(y, score, n_bootstraps=100, random_state=0)
    np.testing.assert_allclose(report.value, reference.value)
    np.testing.assert_allclose(report.ci_low, reference.ci_low)
    assert (report["class"] == "COVID").all()
    with pytest.raises(ValueError, match="pass pos_label"):
        clinical_report(labels, score)


def test_decision_scores_have_no_brier():
    y, score = _binary_data()
    report = clinical_report(y, 4 * score - 2, threshold=0.0, ci=None)
    assert "brier" not in set(report.metric)
    assert _values(report)["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, score))


def test_multiclass_macro_weighted_equal_sklearn():
    rng = np.random.RandomState(0)
    n, k = 300, 3
    y = rng.randint(k, size=n)
    proba = rng.dirichlet(np.ones(k), size=n)
    proba[np.arange(n), y] += 0.6
    proba /= proba.sum(axis=1, keepdims=True)
    names = np.array(["COVID", "Normal", "Pneumonia"])
    report = clinical_report(names[y], proba, n_bootstraps=50, random_state=0)
    pred = proba.argmax(axis=1)
    onehot = label_binarize(y, classes=range(k))
    for average in ("macro", "weighted"):
        values = _values(report, cls=average)
        assert values["sensitivity"] == pytest.approx(metrics.recall_score(y, pred, average=average))
        assert values["ppv"] == pytest.approx(metrics.precision_score(y, pred, average=average))
        assert values["f1"] == pytest.approx(metrics.f1_score(y, pred, average=average))
        assert values["roc_auc"] == pytest.approx(
            metrics.roc_auc_score(y, proba, multi_class="ovr", average=average))
        assert values["pr_auc"] == pytest.approx(
            metrics.average_precision_score(onehot, proba, average=average))
    overall = _values(report, cls="overall")
    assert overall["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert overall["balanced_accuracy"] == pytest.approx(metrics.balanced_accuracy_score(y, pred))
    assert overall["mcc"] == pytest.approx(metrics.matthews_corrcoef(y, pred))
    assert overall["brier"] == pytest.approx(metrics.brier_score_loss(y, proba))
    covid = _values(report, cls="COVID")
    assert covid["roc_auc"] == pytest.approx(metrics.roc_auc_score(y == 0, proba[:, 0]))
    assert set(report["class"]) == {"COVID", "Normal", "Pneumonia", "macro", "weighted", "overall"}


def test_multiclass_from_labels_only():
    rng = np.random.RandomState(1)
    y = rng.randint(3, size=120)
    pred = np.where(rng.rand(120) < 0.7, y, rng.randint(3, size=120))
    report = clinical_report(y, y_pred=pred, ci=None)
    assert _values(report, cls="macro")["specificity"] > 0
    assert "roc_auc" not in set(report.metric)


def test_by_gives_one_block_per_value():
    y, score = _binary_data(400)
    modality = np.where(np.arange(400) % 3 == 0, "ct", "xray")
    report = clinical_report(y, score, by=modality, n_bootstraps=100, random_state=0)
    assert list(report.group.unique()) == ["ct", "xray"]
    for value in ("ct", "xray"):
        rows = modality == value
        subset = clinical_report(y[rows], score[rows], ci=None)
        np.testing.assert_allclose(_values(report, value), _values(subset))
        assert (report[report.group == value]["n"] == rows.sum()).all()


def test_cluster_bootstrap_matches_deduplicated_data():
    y, score = _binary_data(200, seed=3)
    pred = (score >= 0.5).astype(int)
    copies = 4
    patients = np.repeat(np.arange(200), copies)
    y_dup, pred_dup = np.repeat(y, copies), np.repeat(pred, copies)

    def width(report):
        row = report.set_index("metric").loc["accuracy"]
        return row.ci_high - row.ci_low

    kwargs = {"n_bootstraps": 2000, "random_state": 0}
    dedup = width(clinical_report(y, y_pred=pred, **kwargs))
    clustered = width(clinical_report(y_dup, y_pred=pred_dup, groups=patients, **kwargs))
    naive = width(clinical_report(y_dup, y_pred=pred_dup, **kwargs))
    assert clustered == pytest.approx(dedup, rel=0.12)
    assert naive < 0.7 * clustered  # ignoring patients understates the uncertainty


def test_undefined_replicates_are_dropped_and_counted():
    y = np.array([1, 1] + [0] * 18)
    score = np.linspace(0, 1, 20)[::-1]
    report = clinical_report(y, score, n_bootstraps=300, random_state=0).set_index("metric")
    assert report.loc["accuracy", "n_boot"] == 300
    assert 200 < report.loc["sensitivity", "n_boot"] < 300  # ~ 300 * (1 - 0.9**20)
    assert report.loc["roc_auc", "n_boot"] == report.loc["sensitivity", "n_boot"]


def test_block_with_one_class_warns_and_reports_nan():
    y = np.array([0, 1, 0, 1, 1, 1])
    score = np.array([0.2, 0.8, 0.4, 0.6, 0.9, 0.7])
    by = np.array(["xray"] * 4 + ["ct"] * 2)
    with pytest.warns(UndefinedMetricWarning, match="'ct'"):
        report = clinical_report(y, score, by=by, ci=None)
    assert np.isnan(_values(report, "ct")["specificity"])
    assert _values(report, "xray")["roc_auc"] == 1.0


def test_reproducible_and_fast():
    y, score = _binary_data(500)
    start = time.perf_counter()
    first = clinical_report(y, score, n_bootstraps=2000, random_state=42)
    elapsed = time.perf_counter() - start
    second = clinical_report(y, score, n_bootstraps=2000, random_state=42)
    pd.testing.assert_frame_equal(first, second)
    assert elapsed < 2.0
    assert (first.n_boot == 2000).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"y_score": [0.1, np.nan, 0.3, 0.4]}, "y_score contains 1 NaN"),
        ({"y_score": [0.1, 0.2, 0.3]}, "y_true has 4, y_score has 3"),
        ({}, "Pass y_score"),
        ({"y_score": [0.1, 0.2, 0.3, 0.4], "ci": 95}, "'ci' parameter"),
        ({"y_score": [0.1, 0.2, 0.3, 0.4], "n_bootstraps": 0}, "'n_bootstraps' parameter"),
        ({"y_score": np.ones((4, 3))}, "y_score has 3 columns"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        clinical_report([0, 1, 0, 1], **kwargs)


def test_one_class_raises():
    with pytest.raises(ValueError, match="only one class"):
        clinical_report([1, 1, 1], [0.2, 0.5, 0.9])


@pytest.mark.slow
def test_bootstrap_ci_coverage():
    """Percentile CIs of a known-Bernoulli predictor cover the truth ~95 % of the time."""
    rng = np.random.RandomState(0)
    true_accuracy, true_sensitivity, prevalence = 0.8, 0.8, 0.4
    covered = {"accuracy": 0, "sensitivity": 0}
    reps = 200
    for rep in range(reps):
        y = (rng.rand(150) < prevalence).astype(int)
        correct = rng.rand(150) < true_accuracy  # errors independent of the class
        pred = np.where(correct, y, 1 - y)
        report = clinical_report(y, y_pred=pred, n_bootstraps=300, random_state=rep)
        rows = report.set_index("metric")
        for name, truth in (("accuracy", true_accuracy), ("sensitivity", true_sensitivity)):
            covered[name] += rows.loc[name, "ci_low"] <= truth <= rows.loc[name, "ci_high"]
    for name, count in covered.items():
        assert 0.88 <= count / reps <= 0.99, (name, count / reps)


def test_pandas_inputs_with_groups_and_by():
    y, score = _binary_data(240)
    index = np.random.RandomState(0).permutation(240) + 500
    table = pd.DataFrame({"modality": np.where(np.arange(240) % 2, "ct", "xray"),
                          "patient": np.arange(240) // 2}, index=index)
    report = clinical_report(pd.Series(y, index=index), pd.Series(score, index=index),
                             groups=table["patient"], by=table["modality"], n_bootstraps=200,
                             random_state=0)
    plain = clinical_report(y, score, groups=table["patient"].to_numpy(),
                            by=table["modality"].to_numpy(), n_bootstraps=200, random_state=0)
    pd.testing.assert_frame_equal(report, plain)


def test_multiclass_needs_score_columns():
    with pytest.raises(ValueError, match="one score column per class"):
        clinical_report([0, 1, 2, 1], [0.1, 0.5, 0.9, 0.4])


@pytest.mark.parametrize("ci_method, statsmodels_method",
                         [("wilson", "wilson"), ("clopper_pearson", "beta")])
def test_proportion_intervals_equal_statsmodels(ci_method, statsmodels_method):
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    y, score = _binary_data(120, seed=2)
    pred = score >= 0.5
    report = clinical_report(y, score, ci=0.9, ci_method=ci_method, n_bootstraps=100,
                             random_state=0).set_index("metric")
    counts = {
        "accuracy": ((pred == y).sum(), len(y)),
        "sensitivity": ((pred & (y == 1)).sum(), (y == 1).sum()),
        "specificity": ((~pred & (y == 0)).sum(), (y == 0).sum()),
        "ppv": ((pred & (y == 1)).sum(), pred.sum()),
        "npv": ((~pred & (y == 0)).sum(), (~pred).sum()),
    }
    for name, (k, n) in counts.items():
        expected = proportion.proportion_confint(k, n, alpha=0.1, method=statsmodels_method)
        assert tuple(report.loc[name, ["ci_low", "ci_high"]]) == pytest.approx(expected), name
        assert report.loc[name, "ci_method"] == ci_method and report.loc[name, "n_boot"] == 0
    assert report.loc["roc_auc", "ci_method"] == "bootstrap"


def test_wilson_when_the_bootstrap_collapses():
    y = np.r_[np.ones(20, int), np.zeros(20, int)]
    score = np.r_[np.full(20, 0.9), np.linspace(0, 0.6, 20)]  # sensitivity 20/20
    boot = clinical_report(y, score, n_bootstraps=300, random_state=0).set_index("metric")
    wilson = clinical_report(y, score, ci_method="wilson", n_bootstraps=300,
                             random_state=0).set_index("metric")
    assert tuple(boot.loc["sensitivity", ["ci_low", "ci_high"]]) == (1.0, 1.0)
    assert tuple(wilson.loc["sensitivity", ["ci_low", "ci_high"]]) == pytest.approx((0.839, 1.0),
                                                                                    abs=5e-4)


def test_multiclass_proportions_use_per_class_counts():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    rng = np.random.RandomState(3)
    y = rng.choice(["COVID", "Normal", "Pneumonia"], size=90)
    pred = np.where(rng.rand(90) < 0.7, y, "Normal")
    report = clinical_report(y, y_pred=pred, ci_method="wilson", n_bootstraps=50, random_state=0)
    row = report[(report["class"] == "COVID") & (report.metric == "sensitivity")].iloc[0]
    k, n = ((pred == "COVID") & (y == "COVID")).sum(), (y == "COVID").sum()
    assert (row.ci_low, row.ci_high) == pytest.approx(proportion.proportion_confint(k, n, method="wilson"))
    overall = report[(report["class"] == "overall") & (report.metric == "accuracy")].iloc[0]
    assert overall.ci_method == "wilson"


def test_analytic_intervals_refuse_clustered_scans():
    y, score = _binary_data(60)
    with pytest.raises(ValueError, match="assumes independent samples.*aggregate"):
        clinical_report(y, score, groups=np.arange(60) // 2, ci_method="wilson")


@pytest.mark.parametrize("rule", ["max", "mean"])
def test_patient_level_report(rule):
    rng = np.random.RandomState(0)
    patient = np.repeat(np.arange(50), 3)
    y = np.repeat(np.where(rng.rand(50) < 0.4, "COVID", "Non_COVID"), 3)
    score = np.clip((y == "COVID") * 0.35 + rng.rand(150) * 0.65, 0, 1)
    report = clinical_report(y, score, pos_label="COVID", groups=patient, aggregate=rule,
                             ci_method="wilson", n_bootstraps=100, random_state=0)
    frame = pd.DataFrame({"patient": patient, "y": y, "score": score}).groupby("patient")
    per_patient = frame.agg(y=("y", "first"), score=("score", rule))
    reference = clinical_report(per_patient.y.to_numpy(), per_patient.score.to_numpy(),
                                pos_label="COVID", ci_method="wilson", n_bootstraps=100,
                                random_state=0)
    pd.testing.assert_frame_equal(report, reference)
    assert (report["n"] == 50).all()


def test_patient_level_report_by_modality_and_errors():
    patient = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    modality = np.array(["ct", "xray"] * 4)
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    score = np.array([0.9, 0.2, 0.1, 0.3, 0.6, 0.7, 0.4, 0.2])
    report = clinical_report(y, score, groups=patient, by=modality, aggregate="max", ci=None)
    assert (report["n"] == 4).all()  # four patients in each modality block
    with pytest.raises(ValueError, match="Patient 1 has scans with different labels"):
        clinical_report(np.array([1, 1, 0, 1, 1, 0, 0, 0]), score, groups=patient,
                        aggregate="mean")
    with pytest.raises(ValueError, match="pass groups"):
        clinical_report(y, score, aggregate="mean")
    with pytest.raises(ValueError, match="and no y_pred"):
        clinical_report(y, score, y_pred=y, groups=patient, aggregate="mean")


def test_labels_give_the_score_columns_when_a_class_is_absent():
    rng = np.random.RandomState(0)
    classes = ["Pneumonia", "COVID", "Normal"]  # e.g. model.classes_, not sorted
    y = rng.choice(["COVID", "Normal"], size=60)  # no Pneumonia in this subset
    proba = rng.dirichlet(np.ones(3), size=60)
    proba[:, 1] += (y == "COVID") * 0.8
    proba /= proba.sum(axis=1, keepdims=True)
    with pytest.raises(ValueError, match="y_score has 3 columns"):
        clinical_report(y, proba, ci=None)
    with pytest.warns(UndefinedMetricWarning, match="Pneumonia/sensitivity"):
        report = clinical_report(y, proba, labels=classes, ci=None)
    covid = _values(report, cls="COVID")
    assert covid["roc_auc"] == pytest.approx(metrics.roc_auc_score(y == "COVID", proba[:, 1]))
    pred = np.array(classes)[proba.argmax(axis=1)]
    assert covid["sensitivity"] == pytest.approx(metrics.recall_score(y, pred, labels=["COVID"],
                                                                      average="micro"))
    with pytest.raises(ValueError, match=r"\['Normal'\], which are not in labels"):
        clinical_report(y, proba, labels=["Pneumonia", "COVID", "Other"], ci=None)


def test_report_prints_rounded_and_keeps_precision():
    y, score = _binary_data()
    report = clinical_report(y, score, n_bootstraps=50, random_state=0)
    text = repr(report)
    value = report.loc[report.metric == "roc_auc", "value"].iloc[0]
    assert f"{value:.3f}" in text and repr(value) not in text
    assert report["value"].iloc[0] == metrics.accuracy_score(y, score >= 0.5)  # full precision
    assert "np.int64" not in text and "np.str_" not in text
