"""``load_scan_table``: a scan table read from a CSV file (one row per scan)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..utils import check_modality
from ._common import check_on_error, drop_unreadable, make_bunch

PATH_COLUMNS = ("path", "image")
REQUIRED_COLUMNS = ("modality", "label")


def _line(row):
    """The line of the CSV file that holds data row ``row`` (the header is line 1)."""
    return int(row) + 2


def _check_columns(table, csv):
    path_column = next((c for c in PATH_COLUMNS if c in table.columns), None)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if path_column is None:
        missing.insert(0, "path (or image)")
    if missing:
        raise ValueError(
            f"{csv} has no column(s) {', '.join(missing)}; its columns are {list(table.columns)}. "
            "A scan table needs 'path' (or 'image': the image file, relative to the CSV's folder "
            "or absolute), 'modality' ('xray' or 'ct') and 'label', and may have 'patient', "
            "'mask', 'split' and metadata columns."
        )
    return path_column


def _check_filled(table, column, csv):
    empty = table[column].isna() | (table[column].astype(str).str.strip() == "")
    if empty.any():
        lines = [_line(i) for i in np.flatnonzero(empty)[:5]]
        raise ValueError(
            f"{csv}: column {column!r} is empty on line(s) {lines}; fill it in or drop the row(s)."
        )


def _modalities(values, csv):
    canonical = []
    for row, value in values.items():
        try:
            canonical.append(check_modality(value))
        except ValueError as exc:
            raise ValueError(f"{csv}, line {_line(row)}, column 'modality': {exc}") from None
    return canonical


def _resolve(paths, base, csv, what):
    """Absolute paths (relative ones from the CSV's folder); raise naming the first missing file."""
    resolved = []
    for row, value in paths.items():  # the index is the row of the file
        if not isinstance(value, str) or not value.strip():
            resolved.append(np.nan)
            continue
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise FileNotFoundError(
                f"{csv}, line {_line(row)}, column {what!r}: file {str(path)!r} does not exist "
                "(relative paths are read from the CSV's folder)."
            )
        resolved.append(str(path))
    return resolved


def load_scan_table(path, *, split=None, modalities=None, on_error="raise"):
    """Load a scan table from a CSV file: one row per scan, with its image file and label.

    The columns (a ``metadata.csv`` written by :func:`make_synthetic_scans` is such a
    file)::

        path,modality,label,patient,split,mask,source
        X_Ray_Train/COVID/scan-001.png,xray,COVID,p001,train,masks/scan-001.png,hospital_a
        /data/ct/scan-002.png,ct,Non_COVID,p002,test,,hospital_b

    ``path`` (or ``image``), ``modality`` and ``label`` are required; ``patient``,
    ``mask``, ``split`` and any metadata columns are optional. Relative image and mask
    paths are read from the CSV file's folder. Modalities accept the usual spellings
    (``X-Ray``, ``CT_Scan``...).

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    split : str or list of str, optional
        Keep the rows whose ``split`` column has these values (the file needs a ``split``
        column); all rows by default.
    modalities : {"xray", "ct"} or list, optional
        Keep these modalities; all by default.
    on_error : {"raise", "skip"}, default="raise"
        What to do with an empty or corrupt image: raise
        :class:`~skcovid.preprocessing.ScanReadError`, or skip it, warn, and list it in the
        Bunch's ``skipped``. A missing file always raises, naming its line.

    Returns
    -------
    Bunch
        As :func:`load_scan_folder`: ``frame``, ``data`` (the scan table ``X``: ``image``
        as absolute paths, ``modality``, ``patient``, ``mask`` and the other columns),
        ``target`` (the labels as strings), ``target_names``, ``skipped``. Without a
        ``patient`` column, each row is its own patient.

    Raises
    ------
    FileNotFoundError
        When the CSV file, or an image or mask it names, does not exist (with its line).
    ValueError
        For a missing column, an empty label or path, an unknown modality (with the line
        and column), or a ``split`` value that no row has.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skcovid.datasets import load_scan_table, make_synthetic_scans
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = make_synthetic_scans(20, image_size=32, random_state=0, directory=folder)
    >>> bunch = load_scan_table(folder / "metadata.csv")
    >>> len(bunch.data), sorted(set(bunch.data["modality"])), bunch.target_names.tolist()
    (20, ['ct', 'xray'], ['COVID', 'Non_COVID'])
    """
    check_on_error(on_error)
    csv = Path(path).expanduser()
    if not csv.is_file():
        raise FileNotFoundError(f"Scan table {str(csv)!r} does not exist or is not a file.")
    table = pd.read_csv(csv, dtype={"label": str, "patient": str, "split": str, "modality": str})
    path_column = _check_columns(table, csv)
    for column in (path_column, "modality", "label"):
        _check_filled(table, column, csv)
    table["modality"] = _modalities(table["modality"], csv)
    if split is not None:
        wanted = [split] if isinstance(split, str) else list(split)
        if "split" not in table.columns:
            raise ValueError(
                f"split={split!r}, but {csv} has no 'split' column; drop split to load every row."
            )
        unknown = sorted(set(wanted) - set(table["split"].dropna()))
        if unknown:
            raise ValueError(
                f"split {unknown} matches no row of {csv}; its 'split' column holds "
                f"{sorted(set(table['split'].dropna()))}."
            )
        table = table[table["split"].isin(wanted)]
    if modalities is not None:
        wanted = [check_modality(m) for m in ([modalities] if isinstance(modalities, str) else modalities)]
        table = table[table["modality"].isin(wanted)]
    table, base = table.copy(), csv.parent
    table["image"] = _resolve(table.pop(path_column), base, csv, path_column)
    if "mask" in table.columns:
        table["mask"] = _resolve(table["mask"], base, csv, "mask")
    table = table.reset_index(drop=True)
    if "patient" not in table.columns:
        table["patient"] = table["image"]
    table["patient"] = table["patient"].fillna(table["image"]).astype(str)
    if table.empty:
        raise ValueError(
            f"No rows of {csv} are left after selecting split={split!r}, modalities={modalities!r}."
        )
    table, skipped = drop_unreadable(table, on_error)
    return make_bunch(table, skipped=skipped, description=f"Scan table {csv}")
