"""Validation of scan tables: the ``X`` that flows through every skcovid estimator."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

MODALITIES = ("xray", "ct")

_MODALITY_ALIASES = {
    "xray": "xray",
    "x-ray": "xray",
    "x_ray": "xray",
    "cxr": "xray",
    "ct": "ct",
    "ct_scan": "ct",
    "ct-scan": "ct",
}


def check_modality(value):
    """Return the canonical modality name (``"xray"`` or ``"ct"``).

    Parameters
    ----------
    value : str
        A modality name; common spellings such as ``"X-Ray"`` or ``"CT_Scan"`` are accepted.

    Returns
    -------
    str
        ``"xray"`` or ``"ct"``.

    Raises
    ------
    ValueError
        For an unknown modality, naming the value received and the accepted names.

    Examples
    --------
    >>> from skcovid.utils import check_modality
    >>> check_modality("X-Ray")
    'xray'
    """
    key = str(value).strip().lower()
    if key not in _MODALITY_ALIASES:
        raise ValueError(
            f"Unknown modality {value!r}: expected one of {MODALITIES} "
            "(set the 'modality' column of the scan table to 'xray' or 'ct')."
        )
    return _MODALITY_ALIASES[key]


def _row_list(positions, limit=5):
    """``"3, 7 and 12"`` or ``"3, 7, 9, 10, 11 (and 40 more)"`` for row positions."""
    positions = [int(p) for p in positions]
    shown = ", ".join(str(p) for p in positions[:limit])
    return shown + (f" (and {len(positions) - limit} more)" if len(positions) > limit else "")


def _kind(value):
    return "text" if isinstance(value, (str, bytes)) else "number"


def check_values(values, what, fix):
    """Raise a ValueError naming the rows when ``values`` has missing entries or mixes text and numbers.

    Parameters
    ----------
    values : array-like of shape (n,)
        The values of one column (or the labels).
    what : str
        What the values are, for the message (``"The 'patient' column"``, ``"y"``).
    fix : str
        How to fix missing values, for the message.

    Returns
    -------
    ndarray of shape (n,)
        ``values`` as an array.
    """
    array = np.asarray(values)
    if array.dtype.kind in "fcOU" or array.dtype == object:
        missing = np.flatnonzero(pd.isna(array))
        if len(missing):
            raise ValueError(
                f"{what} is missing (NaN or None) at {len(missing)} row(s): {_row_list(missing)} "
                f"(0-based positions). {fix}"
            )
    if array.dtype == object and pd.api.types.infer_dtype(array, skipna=True).startswith("mixed"):
        kinds = np.array([_kind(v) for v in array])
        names, counts = np.unique(kinds, return_counts=True)
        if len(names) > 1:
            rare = names[np.argmin(counts)]
            rows = np.flatnonzero(kinds == rare)
            example = array[rows[0]]
            raise ValueError(
                f"{what} mixes text and numbers: {len(rows)} row(s) hold {rare}s ({_row_list(rows)}, "
                f"e.g. {example!r} of type {type(example).__name__}) among {max(counts)} "
                f"{names[np.argmax(counts)]}s. "
                "Use one type, e.g. convert with .astype(str)."
            )
    return array


def check_labels(y, *, min_classes=2):
    """Check classification labels: one per scan, none missing, one type, enough classes.

    A NaN in a float ``y`` would otherwise become a class of its own, and a mix of strings
    and integers fails deep inside the encoders with a message that names no input.

    Parameters
    ----------
    y : array-like of shape (n_scans,) or (n_scans, 1)
        Class labels (strings or integers).
    min_classes : int, default=2
        The fewest distinct classes accepted.

    Returns
    -------
    ndarray of shape (n_scans,)
        ``y`` as a 1-D array.

    Raises
    ------
    ValueError
        Naming the missing or mistyped rows, or the single class found, and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.utils import check_labels
    >>> check_labels(["COVID", "Non_COVID", "COVID"]).tolist()
    ['COVID', 'Non_COVID', 'COVID']
    >>> check_labels(np.array([0.0, np.nan, 1.0]))
    Traceback (most recent call last):
    ...
    ValueError: y is missing (NaN or None) at 1 row(s): 1 (0-based positions). Remove those scans ...
    """
    if y is None:
        raise ValueError("y is None: pass one class label per scan, e.g. bunch.target from a loader.")
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1:
        raise ValueError(f"y must hold one label per scan (1-D); got shape {array.shape}.")
    check_values(array, "y", "Remove those scans or give them a label.")
    classes = np.unique(array)
    if len(classes) < min_classes:
        raise ValueError(
            f"y holds {len(classes)} class(es) {classes.tolist()}; at least {min_classes} are needed. "
            "Check that every class folder was loaded (see the loader's warnings and bunch.skipped)."
        )
    return array


def _is_image_like(obj):
    return isinstance(obj, (str, os.PathLike, np.ndarray))


def check_scan_table(X, *, require_modality=False, modalities=None, copy=False):
    """Turn ``X`` into a scan table and check it.

    A scan table is a :class:`pandas.DataFrame` with one row per scan and an ``image``
    column (a path or an in-memory array); ``modality``, ``patient`` and ``mask``
    columns are optional unless asked for.

    Parameters
    ----------
    X : DataFrame, ndarray or sequence
        A scan table; an array of images of shape ``(n, H, W)``, ``(n, H, W, C)`` or
        ``(n, C, H, W)``; or a sequence of paths or arrays.
    require_modality : bool, default=False
        Whether a ``modality`` column is required.
    modalities : sequence of str, optional
        If given, every row's modality must be one of these.
    copy : bool, default=False
        Whether to copy a DataFrame given as input.

    Returns
    -------
    DataFrame
        The scan table, with modality names canonicalised.

    Raises
    ------
    ValueError
        Naming the missing column, the unknown modality or the bad shape, and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.utils import check_scan_table
    >>> table = check_scan_table(np.zeros((2, 8, 8), dtype=np.uint8))
    >>> list(table.columns), len(table)
    (['image'], 2)
    """
    if isinstance(X, pd.DataFrame):
        table = X.copy() if copy else X
        if "image" not in table.columns:
            raise ValueError(
                "The scan table has no 'image' column (columns: "
                f"{list(table.columns)}). Load scans with skcovid.datasets.load_scan_folder, "
                "or build a DataFrame with an 'image' column of paths or arrays."
            )
    elif isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim not in (3, 4):
            raise ValueError(
                f"An array of images must have 3 or 4 dimensions (n, H, W[, C]); got shape {X.shape}. "
                "Pass a single image as X[None] or use a scan table."
            )
        table = pd.DataFrame({"image": list(X)})
    elif isinstance(X, (str, os.PathLike)):
        raise ValueError(
            f"Got a single path {str(X)!r}; pass a list of paths or a scan table "
            "(skcovid.datasets.load_scan_folder)."
        )
    else:
        items = list(X)
        bad = [type(item).__name__ for item in items if not _is_image_like(item)]
        if bad:
            raise ValueError(
                f"Expected a scan table, an array of images, or a list of paths/arrays; got items of "
                f"type {sorted(set(bad))}."
            )
        table = pd.DataFrame({"image": [str(i) if isinstance(i, Path) else i for i in items]})
    if len(table) == 0:
        raise ValueError("The scan table is empty: at least one scan is needed.")
    if require_modality and "modality" not in table.columns:
        raise ValueError(
            "The scan table needs a 'modality' column ('xray' or 'ct') for this estimator; "
            "load_scan_folder adds it, or set X['modality'] = 'xray'."
        )
    if "modality" in table.columns:
        column = table["modality"]
        if column.isna().any():
            row = int(np.flatnonzero(column.isna().to_numpy())[0])
            raise ValueError(
                f"The 'modality' of row {row} is missing; every row needs 'xray' or 'ct'."
            )
        canonical = column.map(check_modality)
        if not canonical.equals(column):
            if table is X:
                table = table.copy()
            table["modality"] = canonical
        if modalities is not None:
            unknown = sorted(set(table["modality"]) - set(modalities))
            if unknown:
                raise ValueError(
                    f"The scan table has modalities {unknown} that this estimator was not "
                    f"given an estimator for (known: {sorted(modalities)})."
                )
    if "patient" in table.columns:
        check_values(
            table["patient"].to_numpy(),
            "The 'patient' column",
            "Every scan needs a patient id to keep a patient's scans on one side of a split: fill it "
            "(e.g. X['patient'] = X['patient'].fillna(X['image'])) or drop the column.",
        )
    return table
