"""Loaders for the folder layouts COVID datasets ship in."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils import check_modality
from ._common import (
    LoadReport,
    check_choice,
    check_files,
    check_root,
    class_scans,
    fill_patients,
    find_child,
    list_folder,
    make_bunch,
)
from ._metadata import METADATA_FILE, merge_metadata

# the X_Ray_Train/... layout: (folder name, modality, split)
SPLIT_FOLDERS = (
    ("X_Ray_Train", "xray", "train"),
    ("X_Ray_Test", "xray", "test"),
    ("CT_Scan_Train", "ct", "train"),
    ("CT_Scan_Test", "ct", "test"),
)

RADIOGRAPHY_CLASSES = ("COVID", "Lung_Opacity", "Normal", "Viral Pneumonia")
VALIDATE = ("full", "header")


def _scan_row(path, root, **columns):
    relative = path.relative_to(root).as_posix()
    return {"image": str(path), "_relative": relative, "_key": relative.lower(), **columns}


def _finish(
    rows,
    root,
    report,
    *,
    layout,
    validate,
    default_patient,
    description,
    skip_prefixes=(),
    masks_folder=False,
):
    """Merge the metadata, check the files, fill in patients, warn, and build the Bunch."""
    check_choice("validate", validate, VALIDATE)
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["image", "_relative", "_key", "label"])
    frame = merge_metadata(frame, root, report, layout=layout, skip_prefixes=skip_prefixes)
    if "mask" not in frame.columns:
        frame["mask"] = np.nan
    if masks_folder:
        frame = _masks_by_layout(frame, root)
    frame = check_files(frame, report, decode=validate == "full")
    report.warn()
    if frame.empty:
        return make_bunch(frame, skipped=report.skipped)  # raises, pointing at the skipped entries
    how = (
        f"Provide them in {str(root / METADATA_FILE)!r} with the columns 'path' (relative to the data "
        "folder) and 'patient'"
    )
    frame = fill_patients(frame, frame[default_patient], how)
    frame = frame.drop(columns=["_key", "_relative", "_stem"], errors="ignore")
    return make_bunch(frame, skipped=report.skipped, description=description)


def _flat_layout(root, kept):
    """``_finish`` arguments of the one-folder-per-class layouts (``kept``: the class folders read)."""
    left_out = tuple(p.name.lower() for p in root.iterdir() if p.is_dir() and p.name not in kept)
    return {"layout": ("label", "modality"), "default_patient": "_stem", "skip_prefixes": left_out}


def _check_choice(name, value, allowed):
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"Unknown {name} {bad}; expected some of {list(allowed)}.")
    return values


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


def load_scan_folder(root, *, split=None, modalities=None, on_error="raise", validate="full"):
    """Load a folder laid out as ``X_Ray_Train/COVID``, ``CT_Scan_Test/Non_COVID``, ... as a scan table.

    The layout (folder names matched case-insensitively)::

        root/X_Ray_Train/{COVID,Non_COVID}/*.png
        root/X_Ray_Test/...   root/CT_Scan_Train/...   root/CT_Scan_Test/...
        root/masks/X_Ray_Train/COVID/*.png      (optional, same relative path)
        root/metadata.csv                       (optional: path, patient, mask, ...)

    The folders decide each scan's label, modality and split. ``metadata.csv`` adds columns
    to the scans it lists (matched on ``path``, relative to ``root``); it may repeat
    ``label``, ``modality`` or ``split`` only where they agree with the folders, may list a
    scan twice only with identical rows, and may not list files that do not exist. Files
    the layout does not read (other extensions, nested folders, files outside the class
    folders) are named in a warning.

    Parameters
    ----------
    root : str or path-like
        The dataset folder.
    split : {"train", "test"} or list, optional
        Which splits to load; both by default.
    modalities : {"xray", "ct"} or list, optional
        Which modalities to load; both by default.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a scan that cannot be loaded (an empty, corrupt or truncated file,
        NaN pixels, a dangling symbolic link or link loop, a folder named like an image, an
        unreadable folder, a metadata row whose file is missing, a bad lung mask): raise an
        error naming it, or skip it, warn, and list it in the Bunch's ``skipped``. (A scan
        with a bad mask keeps its row, without the mask.)
    validate : {"full", "header"}, default="full"
        ``"full"`` decodes every scan and mask completely, so that truncated files and NaN
        pixels are found now rather than in the middle of a fit (about 4 ms per 256-px PNG);
        ``"header"`` only checks that each file exists, is not empty and has a valid image
        header: faster on large collections, but a damaged file then fails later.

    Returns
    -------
    Bunch
        ``frame`` (scan table + ``label``), ``data`` (the scan table ``X``: ``image``,
        ``modality``, ``patient``, ``mask``, ``split`` and any metadata columns),
        ``target`` (class names as strings), ``target_names``, ``skipped`` (``(path,
        reason)`` of everything left out). Scans without a patient id (no metadata, or none
        for them) are each their own patient, with a warning.

    Raises
    ------
    ScanReadError
        With ``on_error="raise"``, for the first scan that cannot be loaded.
    ValueError
        For an unreadable ``metadata.csv`` (empty, not UTF-8, malformed, no ``path``
        column, an ``image`` column), conflicting duplicate rows, or a label, modality or
        split that contradicts the folders; the message names the file and line.

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
    report = LoadReport(on_error)
    root = check_root(root)
    splits = _check_choice("split", split, ("train", "test"))
    modalities = _check_choice(
        "modalities",
        None
        if modalities is None
        else [check_modality(m) for m in ([modalities] if isinstance(modalities, str) else modalities)],
        ("xray", "ct"),
    )
    rows, present, left_out = [], [], []
    for folder_name, modality, part in SPLIT_FOLDERS:
        folder = find_child(root, folder_name)
        if folder is None:
            continue
        if (splits and part not in splits) or (modalities and modality not in modalities):
            left_out.append(folder.name.lower())
            continue
        present.append(folder.name)
        class_dirs, loose, others = list_folder(folder, report)
        report.ignored.extend((path, "not inside a class folder") for path in loose + others)
        for class_dir in class_dirs:
            for path in class_scans(class_dir, report, "load_scan_folder"):
                rows.append(_scan_row(path, root, modality=modality, split=part, label=class_dir.name))
    if not present:
        expected = ", ".join(name for name, _, _ in SPLIT_FOLDERS)
        raise FileNotFoundError(
            f"No X_Ray_*/CT_Scan_* folders ({expected}) found in {str(root)!r}"
            + (" for the split/modalities asked for" if left_out else "")
            + "; arrange the data as described in load_scan_folder's docstring."
        )
    if not rows and not report.skipped:
        report.warn()
        raise ValueError(f"The folders {present} in {str(root)!r} hold no images.")
    return _finish(
        rows,
        root,
        report,
        layout=("label", "modality", "split"),
        validate=validate,
        default_patient="_relative",
        description=f"X-ray/CT folder scans from {root}",
        skip_prefixes=tuple(left_out),
        masks_folder=True,
    )


def load_radiography_database(root, *, classes=None, on_error="raise", validate="full"):
    """Load the COVID-19 Radiography Database layout (4 X-ray classes, lung masks).

    The layout::

        root/COVID/images/*.png            root/COVID/masks/*.png
        root/Lung_Opacity/images/...       root/Normal/...    root/Viral Pneumonia/...
        root/metadata.csv                  (optional: path, patient, ...)

    Masks are matched to images by file name; ``metadata.csv`` is merged and checked as
    in :func:`load_scan_folder`.

    Parameters
    ----------
    root : str or path-like
        The database folder.
    classes : list of str, optional
        Class folders to load; the four standard ones by default (those present).
    on_error : {"raise", "skip"}, default="raise"
        See :func:`load_scan_folder`.
    validate : {"full", "header"}, default="full"
        See :func:`load_scan_folder`.

    Returns
    -------
    Bunch
        As :func:`load_scan_folder`; every row is an X-ray. Without patient ids in the
        metadata, each file is its own patient (with a warning).
    """
    report = LoadReport(on_error)
    root = check_root(root)
    wanted = list(classes) if classes is not None else list(RADIOGRAPHY_CLASSES)
    rows, found = [], []
    for name in wanted:
        class_dir = find_child(root, name)
        if class_dir is None:
            if classes is not None:
                raise FileNotFoundError(f"Class folder {name!r} not found in {str(root)!r}.")
            continue
        found.append(class_dir.name)
        images_dir = find_child(class_dir, "images") or class_dir
        masks_dir = find_child(class_dir, "masks")
        masks = {p.stem.lower(): str(p) for p in list_folder(masks_dir, report)[1]} if masks_dir else {}
        for path in class_scans(images_dir, report, "load_radiography_database"):
            rows.append(
                _scan_row(
                    path,
                    root,
                    modality="xray",
                    label=class_dir.name,
                    _stem=path.stem,
                    mask=masks.get(path.stem.lower(), np.nan),
                )
            )
    if not found:
        raise FileNotFoundError(
            f"None of the class folders {wanted} exist in {str(root)!r}; "
            "expected COVID/, Lung_Opacity/, Normal/, 'Viral Pneumonia'/ each with images/ and masks/."
        )
    description = f"COVID-19 Radiography Database at {root}"
    return _finish(
        rows, root, report, validate=validate, description=description, **_flat_layout(root, found)
    )


def load_image_folders(root, *, modality, classes=None, on_error="raise", validate="full"):
    """Load one folder per class (e.g. ``nCoV/`` and ``no_nCoV/``) of a single modality.

    An optional ``root/metadata.csv`` (``path``, ``patient``, ...) is merged and checked as
    in :func:`load_scan_folder`.

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
    validate : {"full", "header"}, default="full"
        See :func:`load_scan_folder`.

    Returns
    -------
    Bunch
        As :func:`load_scan_folder`. Without patient ids in the metadata, each file is its
        own patient (with a warning).
    """
    report = LoadReport(on_error)
    modality = check_modality(modality)
    root = check_root(root)
    if classes is None:
        class_dirs, loose, others = list_folder(root, report)
        report.ignored.extend((path, "not inside a class folder") for path in loose)
    else:
        class_dirs = []
        for name in classes:
            found = find_child(root, name)
            if found is None:
                raise FileNotFoundError(f"Class folder {name!r} not found in {str(root)!r}.")
            class_dirs.append(found)
    rows = [
        _scan_row(path, root, modality=modality, label=d.name, _stem=path.stem)
        for d in class_dirs
        for path in class_scans(d, report, "load_image_folders")
    ]
    chosen = {d.name for d in class_dirs}
    description = f"class folders at {root}"
    return _finish(
        rows, root, report, validate=validate, description=description, **_flat_layout(root, chosen)
    )
