"""probe_modality: how well a fresh classifier reads each row's modality from its features."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ..metrics._resampling import group_codes
from ..utils._param_validation import RANDOM_STATE, Interval, validate_params
from ._tabular import PASSTHROUGH, canonical_modalities


@dataclass(frozen=True)
class ModalityProbeResult:
    """Out-of-fold scores of a modality probe (see :func:`probe_modality`).

    Attributes
    ----------
    balanced_accuracy : float
        Out-of-fold balanced accuracy of the probe's modality predictions.
    roc_auc : float
        Out-of-fold ROC AUC (one-vs-rest macro average for more than two modalities).
    chance_balanced_accuracy : float
        Balanced accuracy of a probe that knows nothing: ``1 / n_modalities``.
    chance_roc_auc : float
        0.5.
    n_samples : int
    modalities : list of str
    fold_balanced_accuracy : list of float
        The balanced accuracy of each fold.
    balanced_accuracy_ci, roc_auc_ci : tuple of float
        Percentile bootstrap intervals (level ``ci`` of :func:`probe_modality`) of the two
        scores over the out-of-fold predictions, resampling patients when ``groups`` was
        given (rows otherwise); ``(nan, nan)`` when ``n_bootstraps=0``.
    """

    balanced_accuracy: float
    roc_auc: float
    chance_balanced_accuracy: float
    chance_roc_auc: float
    n_samples: int
    modalities: list
    fold_balanced_accuracy: list = field(default_factory=list)
    balanced_accuracy_ci: tuple = (np.nan, np.nan)
    roc_auc_ci: tuple = (np.nan, np.nan)

    def __str__(self):
        def interval(bounds):
            return "" if np.isnan(bounds[0]) else f" [{bounds[0]:.3f}, {bounds[1]:.3f}]"

        return (
            f"modality probe on {self.n_samples} rows: balanced accuracy {self.balanced_accuracy:.3f}"
            f"{interval(self.balanced_accuracy_ci)} (chance {self.chance_balanced_accuracy:.3f}), "
            f"ROC AUC {self.roc_auc:.3f}{interval(self.roc_auc_ci)} (chance {self.chance_roc_auc:.3f})"
        )


def default_probe(random_state=None):
    """The default probe: standardisation and an MLP with one hidden layer of 64 units."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=500, random_state=random_state),
    )


def _feature_matrix(features):
    if isinstance(features, pd.DataFrame):
        features = features.drop(columns=[c for c in features.columns if c in PASSTHROUGH])
    values = np.asarray(features, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"features must be 2-D (n_samples, n_features); got shape {values.shape}.")
    if not np.isfinite(values).all():
        raise ValueError("features contain NaN or infinite values; the probe needs finite features.")
    return values


def _bootstrap_intervals(truth, proba, names, codes, ci, n_bootstraps, random_state):
    """Percentile intervals of the balanced accuracy and the (macro one-vs-rest) ROC AUC."""
    from ..metrics._resampling import bootstrap_weights, percentile_interval
    from ..metrics._weighted import ScoreBins, roc_auc, safe_ratio

    is_class = truth[:, None] == names[None, :]  # (n, k)
    hit = is_class & (np.argmax(proba, axis=1)[:, None] == np.arange(len(names)))
    columns = [1] if len(names) == 2 else range(len(names))
    bins = [ScoreBins(is_class[:, c], proba[:, c]) for c in columns]
    replicates = []
    for weights in bootstrap_weights(codes, n_bootstraps, random_state):
        recall = safe_ratio(weights @ hit, weights @ is_class)  # (chunk, k)
        auc = np.mean([roc_auc(*b.split(weights)) for b in bins], axis=0)
        replicates.append(np.c_[recall.mean(axis=1), auc])
    low, high, _ = percentile_interval(np.concatenate(replicates), ci)
    return (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))


@validate_params({
    "ci": [Interval(Real, 0, 1, closed="neither")],
    "n_bootstraps": [Interval(Integral, 0, None)],
    "random_state": [RANDOM_STATE, None],
})
def probe_modality(features, modality, *, groups=None, cv=5, estimator=None, ci=0.95, n_bootstraps=1000,
                   random_state=None):
    """Out-of-fold modality probe: can a fresh classifier tell the modality from the features?

    A fresh classifier (by default standardisation + an MLP with 64 hidden units) is
    trained to predict each row's modality from ``features`` and scored on held-out
    folds, split by patient when ``groups`` is given (stratified by modality). A balanced
    accuracy near ``1 / n_modalities`` and an AUC near 0.5 mean the features hide the
    modality; use rows the feature extractor was not trained on.

    This costs seconds: skcovid's estimators never call it during ``fit``.

    Parameters
    ----------
    features : DataFrame or array-like of shape (n_samples, n_features)
        The features to judge (``modality``/``patient`` columns are ignored as features).
    modality : array-like of shape (n_samples,)
        Each row's modality (e.g. ``X["modality"]``).
    groups : array-like of shape (n_samples,), optional
        Patient ids: no patient is on both sides of a fold.
    cv : int or cross-validation splitter, default=5
        Folds (``StratifiedGroupKFold`` with ``groups``, else ``StratifiedKFold``, shuffled
        with ``random_state``).
    estimator : classifier, optional
        The probe (must have ``predict_proba``); default: standardisation and a
        scikit-learn ``MLPClassifier`` with one hidden layer of 64 units (``alpha=1e-3``).
    ci : float, default=0.95
        Level of the bootstrap intervals of the two scores.
    n_bootstraps : int, default=1000
        Bootstrap replicates of the out-of-fold predictions (patients are resampled when
        ``groups`` is given); 0 skips the intervals.
    random_state : int or None, default=None
        Seeds the folds, the default probe and the bootstrap.

    Returns
    -------
    ModalityProbeResult

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.multimodal import probe_modality
    >>> rng = np.random.RandomState(0)
    >>> modality = np.repeat(["xray", "ct"], 60)
    >>> leaky = rng.randn(120, 3) + (modality == "xray")[:, None] * 3
    >>> probe_modality(leaky, modality, random_state=0).balanced_accuracy > 0.9
    True
    >>> round(probe_modality(rng.randn(120, 3), modality, random_state=0).chance_balanced_accuracy, 2)
    0.5
    """
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, check_cv

    values = _feature_matrix(features)
    modality = canonical_modalities(np.asarray(modality))
    if len(modality) != len(values):
        raise ValueError(f"features has {len(values)} rows but modality has {len(modality)} entries.")
    names, counts = np.unique(modality, return_counts=True)
    if len(names) < 2:
        raise ValueError(f"probe_modality needs rows of at least two modalities; got only {names.tolist()}.")
    if isinstance(cv, int):
        if groups is not None:
            cv = StratifiedGroupKFold(cv, shuffle=True, random_state=random_state)
        else:
            cv = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    cv = check_cv(cv, modality, classifier=True)
    groups = None if groups is None else np.asarray(groups)
    if groups is not None and len(groups) != len(values):
        raise ValueError(f"groups has {len(groups)} entries but features has {len(values)} rows; "
                         "pass one patient id per row.")
    probe = default_probe(random_state) if estimator is None else estimator
    proba = np.full((len(values), len(names)), np.nan)
    fold_scores = []
    for train, test in cv.split(values, modality, groups):
        if len(np.unique(modality[train])) < len(names):
            raise ValueError(
                "A probe fold lacks a modality in its training part; use fewer folds (cv) or more rows."
            )
        fitted = clone(probe)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted.fit(values[train], modality[train])
        columns = np.searchsorted(names, fitted.classes_)
        proba[np.ix_(test, columns)] = fitted.predict_proba(values[test])
        fold_scores.append(balanced_accuracy_score(modality[test], names[np.argmax(proba[test], axis=1)]))
    scored = ~np.isnan(proba).any(axis=1)
    predicted = names[np.argmax(proba[scored], axis=1)]
    truth = modality[scored]
    if len(names) == 2:
        auc = roc_auc_score(truth == names[1], proba[scored, 1])
    else:
        auc = roc_auc_score(truth, proba[scored], multi_class="ovr", labels=names)
    balanced_accuracy_ci = roc_auc_ci = (np.nan, np.nan)
    if n_bootstraps > 0:
        codes = group_codes(None if groups is None else groups[scored], len(truth))
        balanced_accuracy_ci, roc_auc_ci = _bootstrap_intervals(
            truth, proba[scored], names, codes, ci, n_bootstraps, random_state
        )
    return ModalityProbeResult(
        balanced_accuracy=float(balanced_accuracy_score(truth, predicted)),
        roc_auc=float(auc),
        chance_balanced_accuracy=1.0 / len(names),
        chance_roc_auc=0.5,
        n_samples=int(scored.sum()),
        modalities=names.tolist(),
        fold_balanced_accuracy=[float(s) for s in fold_scores],
        balanced_accuracy_ci=balanced_accuracy_ci,
        roc_auc_ci=roc_auc_ci,
    )
