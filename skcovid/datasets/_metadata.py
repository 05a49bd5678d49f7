"""``metadata.csv`` beside the scan folders: read it, check it against the folders, merge it."""

from __future__ import annotations

import numpy as np

from ..preprocessing._io import ScanReadError
from ..utils import check_modality
from ._common import read_csv

METADATA_FILE = "metadata.csv"
_TEXT_COLUMNS = ("path", "patient", "mask", "label", "modality", "split", "image")
_SHOWN = 5


def _line(index):
    """The line of the CSV file that holds data row ``index`` (the header is line 1)."""
    return int(index) + 2


def _lines(indices):
    lines = [str(_line(i)) for i in indices]
    return ", ".join(lines[:_SHOWN]) + (f" (and {len(lines) - _SHOWN} more)" if len(lines) > _SHOWN else "")


def path_key(path):
    """How a relative path is matched: forward slashes, no leading ``./``, lower case."""
    key = str(path).strip().replace("\\", "/")
    while key.startswith("./"):
        key = key[2:]
    return key.lower()


def _same(column, a, b):
    """Whether two values of a folder-decided column mean the same thing."""

    def norm(value):
        if column == "modality":
            try:
                return check_modality(value)
            except ValueError:
                pass
        return str(value).strip().lower().replace(" ", "_").replace("-", "_")

    return norm(a) == norm(b)


def read_metadata(csv):
    """Read a metadata CSV (text columns as strings); errors name the file and the fix."""
    where = f"The metadata file {str(csv)!r}"
    meta = read_csv(csv, where, dtype=dict.fromkeys(_TEXT_COLUMNS, str), header_example="path,patient")
    if "path" not in meta.columns:
        raise ValueError(
            f"{where} has no 'path' column (its columns: {list(meta.columns)}); add one holding each "
            "scan's path relative to the data folder, e.g. X_Ray_Train/COVID/a.png."
        )
    if "image" in meta.columns:
        raise ValueError(
            f"{where} has an 'image' column: the loaders take each scan's file from the folders and "
            "match metadata rows by 'path', so an 'image' column would be ambiguous. Rename it (or "
            "drop it)."
        )
    empty = np.flatnonzero(meta["path"].isna().to_numpy() | (meta["path"].astype(str).str.strip() == ""))
    if len(empty):
        raise ValueError(f"{where} has an empty 'path' on line(s) {_lines(empty)}; fill or delete them.")
    return meta


def drop_duplicates(meta, where, column="path"):
    """One row per ``_key``; rows that repeat a scan must agree on every column but ``column``.

    ``meta`` has the scan's identity in ``_key`` and the file as written in ``column``;
    ``where`` names the file in the message. Raises naming the lines that disagree.
    """
    repeated = meta["_key"].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return meta
    for _, group in meta[repeated].groupby("_key", sort=False):
        values = group.drop(columns=["_key", column])
        differing = [c for c in values.columns if values[c].nunique(dropna=False) > 1]
        if differing:
            first = differing[0]
            raise ValueError(
                f"{where} lists {group[column].iloc[0]!r} on lines {_lines(group.index)} with different "
                f"{differing} (e.g. {first}: {group[first].tolist()}); keep one row per scan."
            )
    return meta.drop_duplicates("_key")


def _check_layout(frame, meta, layout, csv):
    """Raise on a metadata value that contradicts what the folders say (label, modality, split)."""
    checked = [c for c in layout if c in meta.columns]
    if not checked:
        return
    both = frame[["_key", *checked]].merge(meta[["_key", *checked]], on="_key", suffixes=("", "_meta"))
    lines = dict(zip(meta["_key"], meta.index))
    for column in checked:
        for key, folder, listed in zip(both["_key"], both[column], both[f"{column}_meta"]):
            if isinstance(listed, str) and listed.strip() and not _same(column, folder, listed):
                raise ValueError(
                    f"Line {_line(lines[key])} of the metadata file {str(csv)!r} gives {key!r} the {column} "
                    f"{listed!r}, but its folder says {folder!r}. Move the file to the right folder or fix "
                    f"the {column} in the metadata (or delete that column: the folders decide it)."
                )


def _report_unmatched(meta, frame, root, report, skip_prefixes):
    """Metadata rows that match no scan found: a missing file is a problem, others are noted."""
    found = set(frame["_key"])
    csv = root / METADATA_FILE
    for index, key, path in zip(meta.index, meta["_key"], meta["path"]):
        if key in found or any(key.startswith(prefix + "/") for prefix in skip_prefixes):
            continue
        file = root / str(path).strip()
        if file.exists():
            report.ignored.append(
                (file, f"listed on line {_line(index)} of {csv}, but not a scan of the folders loaded")
            )
        else:
            report.problem(
                ScanReadError(
                    file,
                    f"it is listed on line {_line(index)} of {str(csv)!r} but does not exist; restore the "
                    "file or delete the row.",
                )
            )


def merge_metadata(frame, root, report, *, layout, skip_prefixes=()):
    """Merge ``root/metadata.csv``, matched on ``frame["_key"]`` (the path relative to ``root``).

    Parameters
    ----------
    frame : DataFrame
        The scans found, with ``_key`` and the folder-decided columns ``layout``.
    root : Path
        The data folder.
    report : LoadReport
        Receives metadata rows whose file is missing (a problem) or not loaded (ignored).
    layout : tuple of str
        Columns the folders decide (``label``, ``modality``, ``split``): metadata values must
        agree with them and are then dropped.
    skip_prefixes : tuple of str
        Lower-case folders left out on purpose (``split=``/``modalities=``): rows under them
        are not reported.

    Returns
    -------
    DataFrame
        ``frame`` with the metadata columns; a metadata value replaces a ``frame`` value of
        the same column where it is not missing. ``mask`` paths are made absolute.
    """
    csv = root / METADATA_FILE
    if not csv.is_file():
        return frame
    meta = read_metadata(csv)
    meta["_key"] = meta["path"].map(path_key)
    meta = drop_duplicates(meta, f"The metadata file {str(csv)!r}")
    _check_layout(frame, meta, layout, csv)
    _report_unmatched(meta, frame, root, report, skip_prefixes)
    if "mask" in meta.columns:
        meta["mask"] = [
            str(root / m.strip()) if isinstance(m, str) and m.strip() else np.nan for m in meta["mask"]
        ]
    meta = meta.drop(columns=["path", *[c for c in layout if c in meta.columns]])
    merged = frame.merge(meta, on="_key", how="left", suffixes=("", "_meta"))
    for column in [c for c in meta.columns if f"{c}_meta" in merged.columns]:
        listed = merged.pop(f"{column}_meta")
        merged[column] = listed.where(listed.notna(), merged[column])
    return merged
