"""Shared pieces of the folder loaders: file listing, header checks, Bunch assembly."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..preprocessing._io import IMAGE_EXTENSIONS, MEDICAL_EXTENSIONS, ScanReadError

SCAN_COLUMNS = ("image", "modality", "patient", "mask")


def check_root(root):
    """Return ``root`` as a Path, or raise naming it when it is not a folder."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"Data folder {str(path)!r} does not exist or is not a folder; "
            "pass the folder that holds the scans."
        )
    return path


def check_on_error(on_error):
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}.")


def find_child(folder, name):
    """The child of ``folder`` whose name matches ``name`` case-insensitively, or None."""
    wanted = name.lower().replace(" ", "_")
    for child in sorted(Path(folder).iterdir()):
        if child.is_dir() and child.name.lower().replace(" ", "_") == wanted:
            return child
    return None


def list_images(folder):
    """Image files directly in ``folder`` (sorted, hidden files ignored)."""
    extensions = IMAGE_EXTENSIONS + MEDICAL_EXTENSIONS
    return [
        p
        for p in sorted(Path(folder).iterdir())
        if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(extensions)
    ]


def check_image_header(path):
    """Raise :class:`ScanReadError` when ``path`` is empty or not a decodable image header."""
    if path.stat().st_size == 0:
        raise ScanReadError(path, "the file is empty (0 bytes).")
    if not str(path).lower().endswith(IMAGE_EXTENSIONS):
        return
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.verify()
    except Exception as exc:
        raise ScanReadError(path, f"the image file is corrupt or not an image ({exc}).") from exc


def drop_unreadable(frame, on_error, column="image"):
    """Check every file of ``frame[column]``; raise, or drop and report the bad rows."""
    skipped = []
    keep = np.ones(len(frame), dtype=bool)
    for i, path in enumerate(frame[column]):
        try:
            check_image_header(Path(path))
        except ScanReadError as error:
            if on_error == "raise":
                raise
            skipped.append((str(path), error.reason))
            keep[i] = False
    if skipped:
        listing = "\n".join(f"  {p}: {r}" for p, r in skipped)
        warnings.warn(f"Skipped {len(skipped)} unreadable scan(s):\n{listing}", stacklevel=3)
    return frame.loc[keep].reset_index(drop=True), skipped


def make_bunch(frame, *, target_column="label", skipped=(), description=""):
    """Assemble the loaders' Bunch (frame, data, target, target_names, skipped)."""
    if frame.empty:
        raise ValueError("No scans were found; check the folder layout (see the loader's docstring).")
    for column in SCAN_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    ordered = list(SCAN_COLUMNS) + [c for c in frame.columns if c not in SCAN_COLUMNS + (target_column,)]
    data = frame[ordered].copy()
    target = frame[target_column].copy()
    frame = pd.concat([data, target], axis=1)
    return Bunch(
        frame=frame,
        data=data,
        target=target,
        target_names=np.array(sorted(target.unique())),
        skipped=list(skipped),
        DESCR=description,
    )
