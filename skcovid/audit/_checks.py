"""The audit's building blocks: out-of-fold probes and ROC AUCs with patient-bootstrap CIs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, check_cv, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..metrics import clinical_report

MISSING = "<missing>"
_NUMERIC_BINS = 5


class Folds:
    """Patient-grouped, stratified folds: ``cv`` as an int or a splitter, and the bootstrap settings."""

    def __init__(self, cv, *, ci, n_bootstraps, random_state):
        self.cv = cv
        self.ci = ci
        self.n_bootstraps = n_bootstraps
        self.random_state = random_state

    def split(self, strata, groups, *, at_most=None):
        """The (train, test) index pairs of rows stratified by ``strata``, never splitting a group.

        ``at_most`` caps the number of folds of an int ``cv`` (rare strata).
        """
        cv = self.cv
        if isinstance(cv, int):
            n_splits = cv if at_most is None else max(2, min(cv, at_most))
            cv = StratifiedGroupKFold(n_splits, shuffle=True, random_state=self.random_state)
        cv = check_cv(cv, strata, classifier=True)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            return list(cv.split(np.zeros((len(strata), 1)), strata, groups))

    def auc(self, truth, score, groups):
        """ROC AUC and its patient-bootstrap CI: binary (``score`` 1-D) or macro one-vs-rest."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            report = clinical_report(truth, score, groups=groups, ci=self.ci, n_bootstraps=self.n_bootstraps,
                                     random_state=self.random_state)
        rows = report[report["metric"] == "roc_auc"]
        if np.ndim(score) == 2:
            rows = rows[rows["class"] == "macro"]
        row = rows.iloc[0]
        return float(row["value"]), float(row["ci_low"]), float(row["ci_high"])


def attribute_codes(values):
    """An attribute as categories: numbers with many values in quintile bins, missing as its own."""
    series = pd.Series(np.asarray(values, dtype=object)).reset_index(drop=True)
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.notna().sum() == series.notna().sum() and numeric.nunique() > 2 * _NUMERIC_BINS:
        series = pd.qcut(numeric, _NUMERIC_BINS, duplicates="drop").astype(str).where(numeric.notna())
    return series.astype(object).where(series.notna(), MISSING).astype(str).to_numpy()


def _oof_proba(model, features, target, groups, splits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cross_val_predict(model, features, target, groups=groups, cv=splits, method="predict_proba")


def attribute_predicts_label(codes, is_pos, groups, folds):
    """Out-of-fold ROC AUC of the label predicted from one categorical attribute alone."""
    if len(np.unique(codes)) < 2:
        return 0.5, 0.5, 0.5, f"a single value ({codes[0]}): it cannot tell the classes apart"
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression())
    score = _oof_proba(model, codes.reshape(-1, 1), is_pos, groups, folds.split(is_pos, groups))[:, 1]
    return (*folds.auc(is_pos, score, groups), "")


def embeddings_predict_attribute(embeddings, codes, groups, folds):
    """Out-of-fold ROC AUC (macro one-vs-rest) of the attribute predicted from image embeddings.

    Values of a single patient are left out (named in the note); with an int ``cv``, rare
    values lower the number of folds to their number of patients.
    """
    patients = pd.Series(groups).groupby(codes).nunique()
    kept = patients.index[patients >= 2]
    rare = sorted(set(patients.index) - set(kept))
    note = f"left out (one patient): {', '.join(rare)}" if rare else ""
    if len(kept) < 2:
        return np.nan, np.nan, np.nan, (note + "; " if note else "") + "a single value: nothing to tell apart"
    rows = np.isin(codes, kept)
    codes, groups = codes[rows], groups[rows]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500))
    splits = folds.split(codes, groups, at_most=int(patients[kept].min()))
    proba = _oof_proba(model, embeddings[rows], codes, groups, splits)
    classes = np.unique(codes)
    if len(classes) == 2:
        return (*folds.auc(codes == classes[1], proba[:, 1], groups), note)
    return (*folds.auc(codes, proba, groups), note)


def oof_scores(model, X, y, pos_label, splits, blanked=None):
    """Out-of-fold positive-class probabilities of ``model``: on ``X``, and on ``blanked`` rows
    by the same model and by one trained on blanked scans.

    ``blanked`` is ``(positions, data)``: rows of ``X`` at ``positions`` with the lungs
    blanked, each scored by the models of the fold that held its row out.

    Returns
    -------
    score, blanked_score, retrained_score : ndarray of shape (n_samples,)
        NaN where not computed.
    """
    score, blanked_score, retrained_score = np.full((3, len(y)), np.nan)
    for train, test in splits:
        fitted = _fit(model, _rows(X, train), y[train])
        column = list(fitted.classes_).index(pos_label)
        score[test] = fitted.predict_proba(_rows(X, test))[:, column]
        if blanked is None:
            continue
        positions, data = blanked
        held = np.flatnonzero(np.isin(positions, test))
        trained = np.flatnonzero(np.isin(positions, train))
        if not len(held):
            continue
        blanked_score[positions[held]] = fitted.predict_proba(_rows(data, held))[:, column]
        if len(np.unique(y[positions[trained]])) == 2:
            refitted = _fit(model, _rows(data, trained), y[positions[trained]])
            column = list(refitted.classes_).index(pos_label)
            retrained_score[positions[held]] = refitted.predict_proba(_rows(data, held))[:, column]
    return score, blanked_score, retrained_score


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clone(model).fit(X, y)


def _rows(data, index):
    return data.iloc[index] if isinstance(data, pd.DataFrame) else data[index]
