"""Estimators shared by the stats tests."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin


class PatientLeakCheck(ClassifierMixin, BaseEstimator):
    """Majority classifier whose first feature is a patient id; fails if a test
    patient was also in the training set."""

    def fit(self, X, y):
        X = np.asarray(X)
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        self.train_patients_ = set(X[:, 0].tolist())
        return self

    def predict(self, X):
        X = np.asarray(X)
        leaked = self.train_patients_ & set(X[:, 0].tolist())
        if leaked:
            raise AssertionError(f"patients in both training and test folds: {sorted(leaked)[:5]}")
        return np.full(len(X), self.majority_)


@pytest.fixture
def leak_check():
    return PatientLeakCheck


@pytest.fixture(scope="module")
def grouped_data():
    """120 scans of 40 patients: the first feature is the patient id."""
    rng = np.random.RandomState(0)
    patients = np.repeat(np.arange(40), 3)
    y = np.repeat(rng.randint(2, size=40), 3)
    X = np.column_stack([patients, y + rng.normal(size=120), rng.normal(size=120)])
    return X, y, patients
