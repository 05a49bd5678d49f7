"""``load_scan_table``: a scan table read from a CSV file (one row per scan)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..preprocessing._io import ScanReadError, check_scan_path
from ..utils import check_modality
from ._common import check_choice, check_on_error, drop_unreadable, fill_patients, make_bunch, read_csv
from ._folders import VALIDATE
from ._metadata import drop_duplicates

PATH_COLUMNS = ("path", "image")
REQUIRED_COLUMNS = ("modality", "label")


def _line(row):
    """The line of the CSV file that holds data row ``row`` (the header is line 1)."""
    return int(row) + 2


def _check_columns(table, csv):
    if all(c in table.columns for c in PATH_COLUMNS):
        raise ValueError(
            f"{csv} has both a 'path' and an 'image' column; which one names the scan would be a guess. "
            "Keep one of them (rename the other)."
        )
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
        if not path.is_file():  # missing, a folder, a dangling link or a link loop: say which
            try:
                check_scan_path(path)
                reason = "it is not a regular file."
            except ScanReadError as error:
                reason = error.reason
            raise FileNotFoundError(
                f"{csv}, line {_line(row)}, column {what!r}: file {str(path)!r}: {reason} (Relative paths "
                "are read from the CSV's folder.)"
            )
        resolved.append(str(path))
    return resolved


def _drop_repeats(table, csv):
    """One row per image file; repeats must be identical rows (dropped with a warning), else raise.

    ``table`` has the resolved ``image`` and the path as written in ``_written``.
    """
    table["_key"] = table["image"]
    unique = drop_duplicates(table, f"The scan table {str(csv)!r}", column="_written")
    if len(unique) < len(table):
        repeated = table.index[table["_key"].duplicated()]
        warnings.warn(
            f"The scan table {str(csv)!r} lists {len(repeated)} scan(s) more than once with identical rows "
            f"(e.g. line {_line(repeated[0])}: {table['_written'].loc[repeated[0]]!r}); each is loaded "
            "once. Delete the repeated lines to silence this warning.",
            stacklevel=3,
        )
    return unique.drop(columns=["_key", "_written"])


def load_scan_table(path, *, split=None, modalities=None, on_error="raise", validate="full"):
    """Load a scan table from a CSV file: one row per scan, with its image file and label.

    The columns (a ``metadata.csv`` written by :func:`make_synthetic_scans` is such a
    file)::

        path,modality,label,patient,split,mask,source
        X_Ray_Train/COVID/scan-001.png,xray,COVID,p001,train,masks/scan-001.png,hospital_a
        /data/ct/scan-002.png,ct,Non_COVID,p002,test,,hospital_b

    ``path`` (or ``image``), ``modality`` and ``label`` are required; ``patient``,
    ``mask``, ``split`` and any metadata columns are optional. Relative image and mask
    paths are read from the CSV file's folder. Modalities accept the usual spellings
    (``X-Ray``, ``CT_Scan``...). A scan may be listed twice only with identical rows
    (it is then loaded once, with a warning).

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
    validate : {"full", "header"}, default="full"
        ``"full"`` decodes every scan and mask completely, so that truncated files and NaN
        pixels are found now rather than in the middle of a fit; ``"header"`` only checks
        that each file is not empty and has a valid image header: faster on large
        collections, but a damaged file then fails later.

    Returns
    -------
    Bunch
        As :func:`load_scan_folder`: ``frame``, ``data`` (the scan table ``X``: ``image``
        as absolute paths, ``modality``, ``patient``, ``mask`` and the other columns),
        ``target`` (the labels as strings), ``target_names``, ``skipped``. A row without
        a patient id (no ``patient`` column, or an empty cell) is its own patient, with a
        warning.

    Raises
    ------
    FileNotFoundError
        When the CSV file, or an image or mask it names, does not exist (with its line).
    ValueError
        For an empty, non-UTF-8 or malformed CSV file, a missing column (or both ``path``
        and ``image``), an empty label or path, an unknown modality (with the line and
        column), a scan listed twice with different values, or a ``split`` value that no
        row has.

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
    check_choice("validate", validate, VALIDATE)
    csv = Path(path).expanduser()
    if not csv.is_file():
        raise FileNotFoundError(f"Scan table {str(csv)!r} does not exist or is not a file.")
    text = ("label", "patient", "split", "modality", *PATH_COLUMNS)
    table = read_csv(
        csv,
        f"The scan table {str(csv)!r}",
        dtype=dict.fromkeys(text, str),
        header_example="path,modality,label,patient",
    )
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
    table["_written"] = table.pop(path_column)
    table["image"] = _resolve(table["_written"], base, csv, path_column)
    if "mask" in table.columns:
        table["mask"] = _resolve(table["mask"], base, csv, "mask")
    table = _drop_repeats(table, csv).reset_index(drop=True)
    if table.empty:
        raise ValueError(
            f"No rows of {csv} are left after selecting split={split!r}, modalities={modalities!r}."
        )
    table, skipped = drop_unreadable(table, on_error, decode=validate == "full")
    if not table.empty:
        how = f"Add a 'patient' column to {str(csv)!r} (the same id for every scan of one person)"
        table = fill_patients(table, table["image"], how)
    return make_bunch(table, skipped=skipped, description=f"Scan table {csv}")
