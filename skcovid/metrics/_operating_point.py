"""Operating points chosen honestly: patient-grouped folds and one threshold per modality.

:class:`PatientStratifiedKFold` reads each row's patient from the scan table, so that
scikit-learn's :class:`~sklearn.model_selection.TunedThresholdClassifierCV`,
:class:`~sklearn.calibration.CalibratedClassifierCV`, ``GridSearchCV`` and
``cross_val_predict`` split by patient without metadata routing;
:class:`PerModalityThresholdClassifierCV` tunes one decision threshold per modality on
patient-grouped out-of-fold probabilities.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import StratifiedGroupKFold, check_cv, cross_val_predict
from sklearn.utils.validation import check_is_fitted

from ..utils._param_validation import RANDOM_STATE, Interval, StrOptions, check_estimator_params
from ._thresholds import threshold_for_sensitivity, threshold_for_specificity, youden_threshold
from ._validation import resolve_pos_label

_CRITERIA = {
    "youden": youden_threshold,
    "sensitivity": threshold_for_sensitivity,
    "specificity": threshold_for_specificity,
}


def _column(X, name, what):
    if not isinstance(X, pd.DataFrame) or name not in X.columns:
        columns = list(X.columns) if isinstance(X, pd.DataFrame) else f"a {type(X).__name__}"
        raise ValueError(
            f"{what} are read from the {name!r} column of the scan table X, which is missing "
            f"(X has {columns}); add the column or pass {what.lower()} explicitly."
        )
    return X[name].to_numpy()


def positive_label(y, pos_label=None):
    """The positive class: ``pos_label`` if given, else ``"COVID"`` when it is a label,
    else 1 (or True) for {0, 1}, {-1, 1} and boolean labels."""
    if pos_label is None and "COVID" in set(np.unique(np.asarray(y)).tolist()):
        return "COVID"
    return resolve_pos_label(np.asarray(y), pos_label, name="y")


class PatientStratifiedKFold(StratifiedGroupKFold):
    """Stratified K-fold that never splits a patient, reading patients from the scan table.

    :class:`~sklearn.model_selection.StratifiedGroupKFold` needs ``groups`` at ``split``
    time, which scikit-learn's meta-estimators (``TunedThresholdClassifierCV``,
    ``CalibratedClassifierCV``, ``GridSearchCV``) pass on only with metadata routing
    enabled. This splitter takes them from ``X[groups]`` when none are passed, so that
    ``TunedThresholdClassifierCV(model, cv=PatientStratifiedKFold(5))`` splits by patient
    as it is, nested or not. Folds are stratified by label and, when ``X`` has a
    ``modality`` column, by modality too (so every validation fold holds both modalities).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds (at least 2).
    groups : str, default="patient"
        Column of ``X`` holding each row's patient.
    shuffle : bool, default=True
        Whether to shuffle the patients before splitting.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling.

    See Also
    --------
    PerModalityThresholdClassifierCV : one threshold per modality on these folds.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skcovid.metrics import PatientStratifiedKFold
    >>> X = pd.DataFrame({"patient": np.repeat(np.arange(10), 2)})
    >>> y = np.repeat([0, 1], 10)
    >>> folds = PatientStratifiedKFold(5, random_state=0).split(X, y)
    >>> all(set(X.patient[train]).isdisjoint(X.patient[test]) for train, test in folds)
    True
    """

    def __init__(self, n_splits=5, *, groups="patient", shuffle=True, random_state=None):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)
        self.groups = groups

    def split(self, X, y=None, groups=None):
        """Indices of each fold's training and validation rows.

        Parameters
        ----------
        X : DataFrame
            The scan table; its ``groups`` column names the patients unless ``groups`` is given.
        y : array-like of shape (n_samples,)
            The labels (stratification target).
        groups : array-like of shape (n_samples,), optional
            Patient ids, overriding the column.

        Yields
        ------
        train, test : ndarray of int
        """
        if groups is None:
            groups = _column(X, self.groups, "Patients")
        strata = np.asarray(y).astype(str)
        if isinstance(X, pd.DataFrame) and "modality" in X.columns:
            strata = np.char.add(np.char.add(strata, "|"), X["modality"].to_numpy().astype(str))
        with warnings.catch_warnings():  # few patients per stratum: best effort, as documented
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            yield from super().split(X, strata, groups)


class PerModalityThresholdClassifierCV(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A binary classifier with one decision threshold per modality, tuned out-of-fold.

    ``fit`` computes out-of-fold probabilities of the positive class on folds that never
    split a patient (:class:`PatientStratifiedKFold`), chooses for each modality the
    threshold that meets ``criterion`` on that modality's rows
    (:func:`youden_threshold`, :func:`threshold_for_sensitivity` or
    :func:`threshold_for_specificity`, each with a patient-level bootstrap CI), and refits
    ``estimator`` on all rows. ``predict`` applies to each scan the threshold of its
    modality: an X-ray and a CT score of 0.6 can lead to different decisions, as their
    scores are calibrated differently.

    Thresholds are chosen on the training data's out-of-fold probabilities, never on the
    data you report. To tune the thresholds of an already fitted model on a validation
    set, wrap it in :class:`sklearn.frozen.FrozenEstimator` and fit this classifier on the
    validation scans (the folds then only group the bootstrap).

    Parameters
    ----------
    estimator : classifier
        A binary classifier with ``predict_proba`` over scan tables, such as
        :func:`~skcovid.multimodal.make_mtl_pipeline`.
    criterion : {"youden", "sensitivity", "specificity"}, default="youden"
        ``"youden"`` maximises sensitivity + specificity (balanced accuracy);
        ``"sensitivity"`` takes the largest threshold whose sensitivity is at least
        ``target`` (a screening test), ``"specificity"`` the smallest whose specificity is
        at least ``target``.
    target : float in [0, 1] or None, default=None
        The sensitivity or specificity to reach; required by those criteria.
    by : str, default="modality"
        Column of ``X`` whose values get their own threshold.
    groups : str, default="patient"
        Column of ``X`` naming each row's patient (folds and bootstrap).
    cv : int or cross-validation splitter, default=5
        Folds of the out-of-fold probabilities: an int makes a
        :class:`PatientStratifiedKFold`.
    pos_label : str, int or bool, default=None
        The positive class: ``"COVID"`` when it is a label, else inferred for {0, 1},
        {-1, 1} and booleans.
    n_bootstraps : int, default=1000
        Bootstrap replicates of the threshold CIs (``threshold_results_``).
    n_jobs : int, default=None
        Folds fitted in parallel (``cross_val_predict``).
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the bootstrap.

    Attributes
    ----------
    estimator_ : classifier
        ``estimator`` refitted on all rows.
    classes_ : ndarray of shape (2,)
    pos_label_ : object
        The positive class.
    thresholds_ : dict
        Modality -> threshold on the positive-class probability (positive when ``>=``).
    threshold_results_ : dict
        Modality -> :class:`ThresholdResult`: the threshold, its sensitivity and
        specificity out-of-fold, and patient-level bootstrap CIs.
    oof_proba_ : ndarray of shape (n_samples,)
        The out-of-fold probabilities of the positive class the thresholds were chosen on.

    See Also
    --------
    sklearn.model_selection.TunedThresholdClassifierCV : one threshold for all rows, any scorer.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skcovid.metrics import PerModalityThresholdClassifierCV
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat(["COVID", "Non_COVID"], 100)
    >>> X = pd.DataFrame({"signal": (y == "COVID") + rng.randn(200),
    ...                   "modality": np.tile(["xray", "ct"], 100),
    ...                   "patient": np.arange(200) // 2})
    >>> X.loc[X.modality == "ct", "signal"] += 1.5  # CT scores run higher
    >>> model = make_pipeline(make_column_transformer(("passthrough", ["signal"])),
    ...                       LogisticRegression())
    >>> clf = PerModalityThresholdClassifierCV(model, random_state=0).fit(X, y)
    >>> bool(clf.thresholds_["ct"] > clf.thresholds_["xray"])
    True
    """

    _parameter_constraints = {
        "criterion": [StrOptions(set(_CRITERIA))],
        "target": [Interval(Real, 0, 1), None],
        "by": [str],
        "groups": [str],
        "n_bootstraps": [Interval(Integral, 1, None)],
        "n_jobs": [None, Integral],
        "random_state": [RANDOM_STATE, None],
    }

    def __init__(self, estimator, *, criterion="youden", target=None, by="modality", groups="patient",
                 cv=5, pos_label=None, n_bootstraps=1000, n_jobs=None, random_state=None):
        self.estimator = estimator
        self.criterion = criterion
        self.target = target
        self.by = by
        self.groups = groups
        self.cv = cv
        self.pos_label = pos_label
        self.n_bootstraps = n_bootstraps
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _check_params(self):
        check_estimator_params(self)
        if isinstance(self.cv, Integral) and self.cv < 2:
            raise ValueError(f"cv must be at least 2 folds or a splitter; got cv={self.cv}.")
        if self.criterion != "youden" and self.target is None:
            raise ValueError(
                f"criterion={self.criterion!r} needs target, the {self.criterion} to reach "
                f"(e.g. target=0.95); got target=None."
            )

    def fit(self, X, y, groups=None):
        """Choose one threshold per modality out-of-fold, then refit ``estimator`` on all rows.

        Parameters
        ----------
        X : DataFrame
            The scan table, with the ``by`` (modality) column and, unless ``groups`` is
            given, the ``groups`` (patient) column.
        y : array-like of shape (n_samples,)
            Binary labels.
        groups : array-like of shape (n_samples,), optional
            Patient ids, overriding the ``groups`` column.

        Returns
        -------
        self : PerModalityThresholdClassifierCV
        """
        self._check_params()
        y = np.asarray(y)
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(
                f"PerModalityThresholdClassifierCV needs a binary target; y has {len(classes)} "
                f"classes {classes.tolist()[:6]}."
            )
        self.pos_label_ = positive_label(y, self.pos_label)
        strata = _column(X, self.by, f"Thresholds per {self.by!r}")
        groups = _column(X, self.groups, "Patients") if groups is None else np.asarray(groups)
        for value in np.unique(strata):
            counts = pd.Series(y[strata == value]).value_counts()
            if len(counts) < 2 or counts.min() < 2:
                raise ValueError(
                    f"{self.by}={value!r} has {counts.to_dict()} scans; a threshold of its own needs "
                    "at least two of each class. Drop those rows or add scans of the missing class."
                )
        cv = self.cv
        if isinstance(cv, Integral):
            cv = PatientStratifiedKFold(cv, groups=self.groups, random_state=self.random_state)
        cv = check_cv(cv, y, classifier=True)
        proba = cross_val_predict(self.estimator, X, y, groups=groups, cv=cv, method="predict_proba",
                                  n_jobs=self.n_jobs)
        self.oof_proba_ = proba[:, classes.tolist().index(self.pos_label_)]
        choose = _CRITERIA[self.criterion]
        extra = () if self.criterion == "youden" else (self.target,)
        self.threshold_results_ = {}
        for value in np.unique(strata):
            rows = strata == value
            self.threshold_results_[value] = choose(
                y[rows], self.oof_proba_[rows], *extra, pos_label=self.pos_label_, groups=groups[rows],
                n_bootstraps=self.n_bootstraps, random_state=self.random_state,
            )
        self.thresholds_ = {value: result.threshold for value, result in self.threshold_results_.items()}
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        return self

    def _positive_proba(self, X):
        check_is_fitted(self, "estimator_")
        proba = self.estimator_.predict_proba(X)
        return proba[:, list(self.classes_).index(self.pos_label_)]

    def predict_proba(self, X):
        """Class probabilities of the refitted estimator (thresholds do not change them).

        Parameters
        ----------
        X : DataFrame

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        """The positive class where the probability reaches the threshold of the row's modality.

        Parameters
        ----------
        X : DataFrame
            Scans with the ``by`` (modality) column.

        Returns
        -------
        ndarray of shape (n_samples,)

        Raises
        ------
        ValueError
            For a modality no threshold was tuned for, naming it.
        """
        score = self._positive_proba(X)
        strata = _column(X, self.by, f"Thresholds per {self.by!r}")
        unknown = sorted(set(np.unique(strata).tolist()) - set(self.thresholds_))
        if unknown:
            raise ValueError(
                f"No threshold was tuned for {self.by} {unknown}; fit saw {sorted(self.thresholds_)}. "
                "Refit with scans of those modalities."
            )
        threshold = np.array([self.thresholds_[value] for value in strata], dtype=float)
        negative = self.classes_[self.classes_ != self.pos_label_][0]
        return np.where(score >= threshold, self.pos_label_, negative)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
