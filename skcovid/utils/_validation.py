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
    return table
