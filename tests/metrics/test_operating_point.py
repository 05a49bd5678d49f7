"""Operating points: patient-grouped folds, per-modality thresholds, and scikit-learn's threshold
tuning and calibration on the multi-modal pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import make_column_transformer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, make_scorer
from sklearn.model_selection import TunedThresholdClassifierCV, cross_val_predict
from sklearn.pipeline import make_pipeline

from skcovid.metrics import (
    PatientStratifiedKFold,
    PerModalityThresholdClassifierCV,
    threshold_for_sensitivity,
    youden_threshold,
)


def _shifted_table(n_patients=150, *, ct_shift=2.0, random_state=0):
    """Two scans per patient (an X-ray and a CT, same label); CT signals run ``ct_shift`` higher."""
    rng = np.random.RandomState(random_state)
    label = rng.rand(n_patients) < 0.5
    patient = np.repeat(np.arange(n_patients), 2)
    modality = np.tile(["xray", "ct"], n_patients)
    signal = label[patient] * 1.5 + rng.randn(2 * n_patients) + (modality == "ct") * ct_shift
    X = pd.DataFrame({"signal": signal, "modality": modality, "patient": patient})
    return X, np.where(label[patient], "COVID", "Non_COVID")


def _signal_model():
    return make_pipeline(make_column_transformer(("passthrough", ["signal"])), LogisticRegression())


# ---------------------------------------------------------------- PatientStratifiedKFold


def test_patient_folds_read_patients_from_the_table_and_hold_both_modalities():
    X, y = _shifted_table()
    folds = list(PatientStratifiedKFold(5, random_state=0).split(X, y))
    assert len(folds) == 5
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(len(X)))
    for train, test in folds:
        assert set(X.patient.iloc[train]).isdisjoint(X.patient.iloc[test])
        assert set(X.modality.iloc[test]) == {"xray", "ct"}


def test_patient_folds_explicit_groups_override_the_column():
    X, y = _shifted_table(40)
    rows = np.arange(len(X))  # each scan its own group: a patient's two scans may be split
    split_patients = [
        set(X.patient.iloc[train]) & set(X.patient.iloc[test])
        for train, test in PatientStratifiedKFold(4, random_state=0).split(X, y, groups=rows)
    ]
    assert any(split_patients)


def test_patient_folds_name_the_missing_column():
    X, y = _shifted_table(20)
    with pytest.raises(ValueError, match="'subject' column.*missing"):
        next(PatientStratifiedKFold(groups="subject").split(X, y))


# ---------------------------------------------------- PerModalityThresholdClassifierCV


def test_thresholds_are_youden_on_patient_grouped_out_of_fold_probabilities():
    X, y = _shifted_table()
    clf = PerModalityThresholdClassifierCV(_signal_model(), cv=4, n_bootstraps=50, random_state=0).fit(X, y)
    oof = cross_val_predict(_signal_model(), X, y, cv=PatientStratifiedKFold(4, random_state=0),
                            method="predict_proba")[:, 0]
    np.testing.assert_allclose(clf.oof_proba_, oof)
    for modality in ("xray", "ct"):
        rows = (X.modality == modality).to_numpy()
        expected = youden_threshold(y[rows], oof[rows], pos_label="COVID", n_bootstraps=50, random_state=0)
        assert clf.thresholds_[modality] == expected.threshold
        assert clf.threshold_results_[modality].sensitivity == expected.sensitivity
    # the CT scores run higher, so the CT threshold is higher
    assert clf.thresholds_["ct"] > clf.thresholds_["xray"] + 0.2


def test_predict_applies_each_rows_modality_threshold_and_beats_one_threshold():
    X, y = _shifted_table(random_state=0)
    X_new, y_new = _shifted_table(random_state=1)
    clf = PerModalityThresholdClassifierCV(_signal_model(), n_bootstraps=20, random_state=0).fit(X, y)
    proba = clf.predict_proba(X_new)[:, list(clf.classes_).index("COVID")]
    limit = X_new.modality.map(clf.thresholds_).to_numpy()
    np.testing.assert_array_equal(clf.predict(X_new) == "COVID", proba >= limit)
    single = clone(_signal_model()).fit(X, y).predict(X_new)
    assert balanced_accuracy_score(y_new, clf.predict(X_new)) > balanced_accuracy_score(y_new, single) + 0.05


def test_sensitivity_criterion_reaches_the_target_out_of_fold():
    X, y = _shifted_table()
    clf = PerModalityThresholdClassifierCV(_signal_model(), criterion="sensitivity", target=0.95,
                                           n_bootstraps=20, random_state=0).fit(X, y)
    for modality, result in clf.threshold_results_.items():
        rows = (X.modality == modality).to_numpy()
        assert result.sensitivity >= 0.95
        expected = threshold_for_sensitivity(y[rows], clf.oof_proba_[rows], 0.95, pos_label="COVID",
                                             n_bootstraps=20, random_state=0)
        assert result.threshold == expected.threshold


def test_frozen_estimator_tunes_thresholds_of_a_fitted_model_on_validation_scans():
    X, y = _shifted_table(random_state=0)
    X_val, y_val = _shifted_table(random_state=2)
    fitted = _signal_model().fit(X, y)
    clf = PerModalityThresholdClassifierCV(FrozenEstimator(fitted), n_bootstraps=20, random_state=0)
    clf.fit(X_val, y_val)
    np.testing.assert_allclose(clf.oof_proba_, fitted.predict_proba(X_val)[:, 0])
    np.testing.assert_allclose(clf.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.parametrize(
    "params, fit_data, message",
    [
        ({"criterion": "specificity"}, None, "needs target"),
        ({"criterion": "auc"}, None, "'criterion' parameter"),
        ({"by": "scanner"}, None, "'scanner' column"),
        ({}, "one_class_ct", "modality='ct' has"),
    ],
)
def test_errors_name_the_culprit(params, fit_data, message):
    X, y = _shifted_table(40)
    if fit_data == "one_class_ct":
        y = np.where(X.modality == "ct", "COVID", y)
    with pytest.raises(ValueError, match=message):
        PerModalityThresholdClassifierCV(_signal_model(), **params).fit(X, y)


def test_predict_names_an_unknown_modality():
    X, y = _shifted_table(60)
    clf = PerModalityThresholdClassifierCV(_signal_model(), n_bootstraps=10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"No threshold was tuned for modality \['mri'\]"):
        clf.predict(X.assign(modality="mri"))


def test_numeric_labels_infer_the_positive_class():
    X, y = _shifted_table(80)
    y01 = (y == "COVID").astype(int)
    clf = PerModalityThresholdClassifierCV(_signal_model(), n_bootstraps=10, random_state=0).fit(X, y01)
    assert clf.pos_label_ == 1
    assert set(np.unique(clf.predict(X))) <= {0, 1}


# ------------------------------------------------ the multi-modal pipeline, small settings


class _Recorder(ClassifierMixin, BaseEstimator):
    """Delegates to ``estimator`` and records the patients of every fit (shared by clones)."""

    fits: list = []

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        type(self).fits.append(frozenset(X["patient"]))
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        return self.estimator_.predict(X)

    def decision_function(self, X):
        return self.estimator_.decision_function(X)


def _assert_folds_kept_patients_apart(X, n_folds):
    fold_fits = [f for f in _Recorder.fits if len(f) < X.patient.nunique()]
    assert len(fold_fits) == n_folds
    for patients in fold_fits:  # held-out patients are exactly those not trained on
        held_out = set(X.patient) - patients
        assert held_out and not (held_out & patients)


@pytest.fixture(scope="module")
def small_mtl():
    from skcovid.datasets import make_synthetic_scans
    from skcovid.multimodal import make_mtl_pipeline

    data = make_synthetic_scans(120, image_size=48, random_state=0)
    pipe = make_mtl_pipeline(cv=None, max_epochs=3, image_size=48, task_hidden=(16,), shared_hidden=(16,),
                             head_hidden=(8,), cache=True, random_state=0)
    return data.data, np.asarray(data.target), pipe


@pytest.mark.slow
def test_tuned_threshold_on_the_mtl_pipeline_with_patient_folds(small_mtl):
    X, y, pipe = small_mtl
    _Recorder.fits = []
    tuned = TunedThresholdClassifierCV(_Recorder(pipe), cv=PatientStratifiedKFold(3, random_state=0),
                                       scoring=make_scorer(f1_score, pos_label="COVID")).fit(X, y)
    _assert_folds_kept_patients_apart(X, 3)
    proba = tuned.predict_proba(X)[:, list(tuned.classes_).index("COVID")]
    np.testing.assert_array_equal(tuned.predict(X) == "COVID", proba >= tuned.best_threshold_)


@pytest.mark.slow
def test_calibration_on_the_mtl_pipeline_with_patient_folds(small_mtl):
    X, y, pipe = small_mtl
    _Recorder.fits = []
    calibrated = CalibratedClassifierCV(_Recorder(pipe), cv=PatientStratifiedKFold(3, random_state=0),
                                        method="sigmoid", ensemble=False).fit(X, y)
    _assert_folds_kept_patients_apart(X, 3)
    refit = calibrated.calibrated_classifiers_[0].estimator
    decision = refit.decision_function(X)
    proba = refit.predict_proba(X)
    # the pipeline's decision function (what calibration reads) agrees with its probabilities
    np.testing.assert_array_equal(decision > 0, proba[:, 1] > 0.5)
    calibrated_proba = calibrated.predict_proba(X)[:, 1]
    assert abs(spearmanr(calibrated_proba, decision).statistic) == pytest.approx(1.0)
    assert not np.allclose(calibrated_proba, proba[:, 1], atol=1e-3)


@pytest.mark.slow
def test_per_modality_thresholds_on_the_mtl_pipeline(small_mtl):
    X, y, pipe = small_mtl
    _Recorder.fits = []
    clf = PerModalityThresholdClassifierCV(_Recorder(pipe), cv=3, n_bootstraps=20, random_state=0).fit(X, y)
    _assert_folds_kept_patients_apart(X, 3)
    assert set(clf.thresholds_) == {"xray", "ct"}
    proba = clf.predict_proba(X)[:, 0]
    limit = X.modality.map(clf.thresholds_).to_numpy()
    np.testing.assert_array_equal(clf.predict(X) == "COVID", proba >= limit)
