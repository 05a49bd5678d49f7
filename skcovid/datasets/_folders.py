"""Loaders for the folder layouts COVID datasets ship in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..utils import check_modality
from ._common import (
    check_on_error,
    check_root,
    drop_unreadable,
    find_child,
    list_images,
    make_bunch,
)

# the X_Ray_Train/... layout: (folder name, modality, split)
SEED000_FOLDERS = (
    ("X_Ray_Train", "xray", "train"),
    ("X_Ray_Test", "xray", "test"),
    ("CT_Scan_Train", "ct", "train"),
    ("CT_Scan_Test", "ct", "test"),
)

RADIOGRAPHY_CLASSES = ("COVID", "Lung_Opacity", "Normal", "Viral Pneumonia")


def _check_choice(name, value, allowed):
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"Unknown {name} {bad}; expected some of {list(allowed)}.")
    return values


def _merge_metadata(frame, root):
    """Merge ``root/metadata.csv`` (matched on the path relative to root) into ``frame``."""
    csv = root / "metadata.csv"
    if not csv.is_file():
        return frame
    meta = pd.read_csv(csv)
    if "path" not in meta.columns:
        raise ValueError(f"{csv} has no 'path' column (relative image paths); cannot match rows.")
    meta = meta.drop(columns=[c for c in ("label", "modality") if c in meta.columns])
    meta["_key"] = meta["path"].astype(str).str.replace("\\", "/").str.lower()
    meta = meta.drop(columns="path").drop_duplicates("_key")
    if "mask" in meta.columns:
        meta["mask"] = [str(root / m) if isinstance(m, str) and m.strip() else np.nan for m in meta["mask"]]
    frame = frame.drop(columns=[c for c in meta.columns if c in frame.columns and c != "_key"])
    return frame.merge(meta, on="_key", how="left")


def _masks_by_layout(frame, root):
    """Fill missing masks from ``root/masks/<same relative path>`` when that file exists."""
    masks_dir = root / "masks"
    if not masks_dir.is_dir():
        return frame
    found = []
    for key, mask in zip(frame["_relative"], frame["mask"]):
        if isinstance(mask, str):
            found.append(mask)
            continue
        candidate = masks_dir / key
        found.append(str(candidate) if candidate.is_file() else np.nan)
    frame["mask"] = found
    return frame


def load_scan_folder(root, *, split=None, modalities=None, on_error="raise"):
    """Load a folder laid out as ``X_Ray_Train/COVID``, ``CT_Scan_Test/Non_COVID``, ... as a scan table.

    The layout (folder names matched case-insensitively)::

        root/X_Ray_Train/{COVID,Non_COVID}/*.png
        root/X_Ray_Test/...   root/CT_Scan_Train/...   root/CT_Scan_Test/...
        root/masks/X_Ray_Train/COVID/*.png      (optional, same relative path)
        root/metadata.csv                       (optional: path, patient, mask, ...)

    Parameters
    ----------
    root : str or path-like
        The dataset folder.
    split : {"train", "test"} or list, optional
        Which splits to load; both by default.
    modalities : {"xray", "ct"} or list, optional
        Which modalities to load; both by default.
    on_error : {"raise", "skip"}, default="raise"
        What to do with an empty or corrupt image: raise :class:`ScanReadError`, or skip it,
        warn, and list it in the Bunch's ``skipped``.

    Returns
    -------
    Bunch
        ``frame`` (scan table + ``label``), ``data`` (the scan table ``X``: ``image``,
        ``modality``, ``patient``, ``mask``, ``split`` and any metadata columns),
        ``target`` (class names as strings), ``target_names``, ``skipped``.
        Without metadata, each file is its own patient.

    Examples
    --------
    >>> import tempfile
    >>> from skcovid.datasets import load_scan_folder, make_synthetic_scans
    >>> folder = tempfile.mkdtemp()
    >>> _ = make_synthetic_scans(40, image_size=32, random_state=0, directory=folder)
    >>> bunch = load_scan_folder(folder)
    >>> len(bunch.data), bunch.target_names.tolist()
    (40, ['COVID', 'Non_COVID'])
    """
    check_on_error(on_error)
    root = check_root(root)
    splits = _check_choice("split", split, ("train", "test"))
    modalities = _check_choice(
        "modalities",
        None
        if modalities is None
        else [check_modality(m) for m in ([modalities] if isinstance(modalities, str) else modalities)],
        ("xray", "ct"),
    )
    rows = []
    present = []
    for folder_name, modality, part in SEED000_FOLDERS:
        if (splits and part not in splits) or (modalities and modality not in modalities):
            continue
        folder = find_child(root, folder_name)
        if folder is None:
            continue
        present.append(folder.name)
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            for path in list_images(class_dir):
                relative = path.relative_to(root).as_posix()
                rows.append(
                    {
                        "image": str(path),
                        "modality": modality,
                        "split": part,
                        "label": class_dir.name,
                        "_relative": relative,
                        "_key": relative.lower(),
                    }
                )
    if not present:
        expected = ", ".join(name for name, _, _ in SEED000_FOLDERS)
        raise FileNotFoundError(
            f"No X_Ray_*/CT_Scan_* folders ({expected}) found in {str(root)!r}; "
            "arrange the data as described in load_scan_folder's docstring."
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise ValueError(f"The folders {present} in {str(root)!r} hold no images.")
    frame = _merge_metadata(frame, root)
    if "mask" not in frame.columns:
        frame["mask"] = np.nan
    frame = _masks_by_layout(frame, root)
    if "patient" not in frame.columns:
        frame["patient"] = frame["_relative"]
    frame["patient"] = frame["patient"].fillna(frame["_relative"]).astype(str)
    frame = frame.drop(columns=["_key", "_relative"])
    frame, skipped = drop_unreadable(frame, on_error)
    return make_bunch(frame, skipped=skipped, description=f"X-ray/CT folder scans from {root}")


def load_radiography_database(root, *, classes=None, on_error="raise"):
    """Load the COVID-19 Radiography Database layout (4 X-ray classes, lung masks).

    The layout::

        root/COVID/images/*.png            root/COVID/masks/*.png
        root/Lung_Opacity/images/...       root/Normal/...    root/Viral Pneumonia/...

    Masks are matched to images by file name.

    Parameters
    ----------
    root : str or path-like
        The database folder.
    classes : list of str, optional
        Class folders to load; the four standard ones by default (those present).
    on_error : {"raise", "skip"}, default="raise"
        See :func:`load_scan_folder`.

    Returns
    -------
    Bunch
        As :func:`load_scan_folder`; every row is an X-ray, each file its own patient.
    """
    check_on_error(on_error)
    root = check_root(root)
    wanted = list(classes) if classes is not None else list(RADIOGRAPHY_CLASSES)
    rows = []
    found = []
    for name in wanted:
        class_dir = find_child(root, name)
        if class_dir is None:
            if classes is not None:
                raise FileNotFoundError(f"Class folder {name!r} not found in {str(root)!r}.")
            continue
        found.append(class_dir.name)
        images_dir = find_child(class_dir, "images") or class_dir
        masks_dir = find_child(class_dir, "masks")
        masks = {p.stem.lower(): str(p) for p in list_images(masks_dir)} if masks_dir else {}
        for path in list_images(images_dir):
            rows.append(
                {
                    "image": str(path),
                    "modality": "xray",
                    "patient": path.stem,
                    "mask": masks.get(path.stem.lower(), np.nan),
                    "label": class_dir.name,
                }
            )
    if not found:
        raise FileNotFoundError(
            f"None of the class folders {wanted} exist in {str(root)!r}; "
            "expected COVID/, Lung_Opacity/, Normal/, 'Viral Pneumonia'/ each with images/ and masks/."
        )
    frame, skipped = drop_unreadable(pd.DataFrame(rows), on_error)
    return make_bunch(frame, skipped=skipped, description=f"COVID-19 Radiography Database at {root}")


def load_image_folders(root, *, modality, classes=None, on_error="raise"):
    """Load one folder per class (e.g. ``nCoV/`` and ``no_nCoV/``) of a single modality.

    Parameters
    ----------
    root : str or path-like
        Folder holding one sub-folder of images per class.
    modality : {"xray", "ct"}
        The modality of every scan.
    classes : list of str, optional
        Class folders to load (all sub-folders by default); the folder name is the label.
    on_error : {"raise", "skip"}, default="raise"
        See :func:`load_scan_folder`.

    Returns
    -------
    Bunch
        As :func:`load_scan_folder`; each file is its own patient.
    """
    check_on_error(on_error)
    modality = check_modality(modality)
    root = check_root(root)
    if classes is None:
        class_dirs = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    else:
        class_dirs = []
        for name in classes:
            found = find_child(root, name)
            if found is None:
                raise FileNotFoundError(f"Class folder {name!r} not found in {str(root)!r}.")
            class_dirs.append(found)
    rows = [
        {"image": str(path), "modality": modality, "patient": Path(path).stem, "label": d.name}
        for d in class_dirs
        for path in list_images(d)
    ]
    frame, skipped = drop_unreadable(
        pd.DataFrame(rows, columns=["image", "modality", "patient", "label"]), on_error
    )
    return make_bunch(frame, skipped=skipped, description=f"class folders at {root}")
