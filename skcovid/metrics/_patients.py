"""Patient-level evaluation: one row per patient from several scans per patient."""

import numpy as np
import pandas as pd

from ._validation import plain

AGGREGATES = ("mean", "max")


def aggregate_patients(y_true, y_score, groups, by, rule):
    """One row per patient (per ``by`` value): the patient's label and aggregated score.

    Parameters
    ----------
    y_true : ndarray of shape (n_scans,)
        Labels; every scan of a patient must carry the same one.
    y_score : ndarray of shape (n_scans,) or (n_scans, n_classes)
        Scores, combined per patient by ``rule`` (column by column).
    groups : array-like of shape (n_scans,)
        Patient ids.
    by : ndarray of shape (n_scans,) or None
        Stratifying variable: a patient with scans of two modalities gets one row per
        modality.
    rule : {"mean", "max"}
        Mean or maximum score of the patient's scans.

    Returns
    -------
    y_true, y_score, groups, by : ndarrays with one row per patient (and ``by`` value)
    """
    groups = np.asarray(groups.to_numpy() if hasattr(groups, "to_numpy") else groups)
    keys = {"patient": groups} if by is None else {"by": by, "patient": groups}
    frame = pd.DataFrame({**keys, "label": y_true})
    scores = np.atleast_2d(y_score.T).T  # (n_scans, n_columns)
    columns = [f"score_{j}" for j in range(scores.shape[1])]
    frame[columns] = scores
    grouped = frame.groupby(list(keys), sort=True)
    mixed = grouped["label"].nunique()
    if (mixed > 1).any():
        patient = mixed.index[np.argmax(mixed.to_numpy() > 1)]
        raise ValueError(
            f"Patient {plain(patient)!r} has scans with different labels in y_true; a "
            "patient-level report needs one label per patient. Fix the labels, or drop "
            "aggregate to evaluate scans."
        )
    table = grouped.agg({"label": "first", **dict.fromkeys(columns, rule)})
    patient_score = table[columns].to_numpy()
    patient_score = patient_score[:, 0] if y_score.ndim == 1 else patient_score
    index = table.index.to_frame(index=False)
    patient_by = None if by is None else index["by"].to_numpy()
    return table["label"].to_numpy(), patient_score, index["patient"].to_numpy(), patient_by
