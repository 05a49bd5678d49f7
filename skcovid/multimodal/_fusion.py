"""Patient-level prediction: fuse the probabilities of a patient's scans."""

from __future__ import annotations

import numpy as np
import pandas as pd

FUSIONS = ("mean", "geometric", "max")


def _positive_column(classes, pos_label):
    classes = list(classes)
    if pos_label is None:
        pos_label = "COVID" if "COVID" in classes else classes[-1]
    if pos_label not in classes:
        raise ValueError(f"pos_label={pos_label!r} is not one of the classes {classes}.")
    return classes.index(pos_label)


def fuse_probabilities(proba, patients, *, fusion="mean", pos_column=None):
    """Fuse per-scan class probabilities into one row per patient.

    Parameters
    ----------
    proba : ndarray of shape (n_scans, n_classes)
    patients : array-like of shape (n_scans,)
    fusion : {"mean", "geometric", "max"}, default="mean"
        ``"mean"``: arithmetic mean of the probabilities. ``"geometric"``: geometric mean
        per class (the mean of log-probabilities), renormalised to sum to 1. ``"max"``:
        binary problems take the *largest* positive-class probability over the scans (a
        patient is as suspicious as their most suspicious scan), multiclass ones the
        per-class maximum, renormalised.
    pos_column : int, optional
        Column of the positive class, used by ``"max"`` on binary problems (default: 1).

    Returns
    -------
    patients : ndarray
        Patient ids in order of first appearance.
    fused : ndarray of shape (n_patients, n_classes)

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.multimodal import fuse_probabilities
    >>> proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]])
    >>> ids, fused = fuse_probabilities(proba, ["a", "a", "b"])
    >>> ids.tolist(), fused.round(2).tolist()
    (['a', 'b'], [[0.6, 0.4], [0.2, 0.8]])
    """
    if fusion not in FUSIONS:
        raise ValueError(f"Unknown fusion {fusion!r}; use one of {FUSIONS}.")
    proba = np.asarray(proba, dtype=np.float64)
    patients = np.asarray(patients)
    if proba.ndim != 2 or len(proba) != len(patients):
        raise ValueError(
            f"proba must be (n_scans, n_classes) with one patient per scan; got {proba.shape} "
            f"and {len(patients)} patients."
        )
    frame = pd.DataFrame(proba)
    codes, uniques = pd.factorize(pd.Series(patients), sort=False)
    grouped = frame.groupby(codes, sort=True)
    if fusion == "mean":
        fused = grouped.mean().to_numpy()
    elif fusion == "geometric":
        fused = np.exp(np.log(frame.clip(lower=1e-12)).groupby(codes, sort=True).mean().to_numpy())
        fused /= fused.sum(axis=1, keepdims=True)
    elif proba.shape[1] == 2:
        column = 1 if pos_column is None else int(pos_column)
        positive = grouped[column].max().to_numpy()
        fused = np.empty((len(positive), 2))
        fused[:, column], fused[:, 1 - column] = positive, 1.0 - positive
    else:
        fused = grouped.max().to_numpy()
        fused /= fused.sum(axis=1, keepdims=True)
    return np.asarray(uniques), fused


def predict_patients(estimator, X, *, fusion="mean", patient_column="patient", pos_label=None):
    """Predict each patient from all their scans (e.g. one X-ray and one CT).

    The fitted ``estimator`` (any classifier with ``predict_proba`` and ``classes_``, such
    as the pipeline of :func:`make_mtl_pipeline`) scores every scan; the scans of each
    patient are fused with :func:`fuse_probabilities` (mean of probabilities by default).

    Parameters
    ----------
    estimator : fitted classifier
    X : DataFrame
        Scans with a ``patient_column`` column (a scan table, or embeddings).
    fusion : {"mean", "geometric", "max"}, default="mean"
        See :func:`fuse_probabilities`.
    patient_column : str, default="patient"
    pos_label : str, optional
        Positive class for ``fusion="max"`` on binary problems (default: "COVID" when it is
        a class, else the last class).

    Returns
    -------
    DataFrame indexed by patient
        ``proba_<class>`` columns (fused), ``prediction`` (the most probable class),
        ``n_scans`` and ``modalities`` (e.g. "ct+xray", when X has a modality column).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.dummy import DummyClassifier
    >>> from skcovid.multimodal import predict_patients
    >>> X = pd.DataFrame({"patient": ["p1", "p1", "p2"], "modality": ["xray", "ct", "ct"]})
    >>> clf = DummyClassifier(strategy="prior").fit(X, ["COVID", "Non_COVID", "COVID"])
    >>> predict_patients(clf, X).round(2)
             proba_COVID  proba_Non_COVID prediction  n_scans modalities
    patient
    p1              0.67             0.33      COVID        2    ct+xray
    p2              0.67             0.33      COVID        1         ct
    """
    if not isinstance(X, pd.DataFrame) or patient_column not in X.columns:
        raise ValueError(
            f"predict_patients needs a DataFrame with a {patient_column!r} column to group the scans "
            "of each patient."
        )
    classes = np.asarray(estimator.classes_)
    proba = np.asarray(estimator.predict_proba(X))
    pos_column = _positive_column(classes, pos_label) if len(classes) == 2 else None
    patients, fused = fuse_probabilities(
        proba, X[patient_column].to_numpy(), fusion=fusion, pos_column=pos_column
    )
    result = pd.DataFrame(
        fused, index=pd.Index(patients, name=patient_column), columns=[f"proba_{c}" for c in classes]
    )
    result["prediction"] = classes[np.argmax(fused, axis=1)]
    counts = X.groupby(patient_column, sort=False).size()
    result["n_scans"] = counts.reindex(result.index).to_numpy()
    if "modality" in X.columns:
        kinds = X.groupby(patient_column, sort=False)["modality"].agg(lambda s: "+".join(sorted(set(s))))
        result["modalities"] = kinds.reindex(result.index).to_numpy()
    return result
