"""Shared pieces of the folder loaders: folder listing, file checks, problem reports, Bunch assembly."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..preprocessing._io import (
    IMAGE_EXTENSIONS,
    MEDICAL_EXTENSIONS,
    ScanReadError,
    check_scan_file,
    check_scan_path,
)

SCAN_COLUMNS = ("image", "modality", "patient", "mask")
SCAN_EXTENSIONS = IMAGE_EXTENSIONS + MEDICAL_EXTENSIONS
_SHOWN = 10  # problems listed one per line in a warning


def check_root(root):
    """Return ``root`` as a Path, or raise naming it when it is not a folder."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"Data folder {str(path)!r} does not exist or is not a folder; "
            "pass the folder that holds the scans."
        )
    return path


def check_choice(name, value, allowed):
    """Raise naming ``name`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}; got {value!r}.")


def check_on_error(on_error):
    check_choice("on_error", on_error, ("raise", "skip"))


def find_child(folder, name):
    """The sub-folder of ``folder`` whose name matches ``name`` case-insensitively, or None."""
    wanted = name.lower().replace(" ", "_")
    for child in sorted(Path(folder).iterdir()):
        if child.is_dir() and child.name.lower().replace(" ", "_") == wanted:
            return child
    return None


def _listing(items):
    lines = [f"  {path}: {why}" for path, why in items[:_SHOWN]]
    if len(items) > _SHOWN:
        lines.append(f"  ... and {len(items) - _SHOWN} more")
    return "\n".join(lines)


class LoadReport:
    """What a loader met on its way: problems raise or are skipped, the rest is warned about.

    Parameters
    ----------
    on_error : {"raise", "skip"}
        ``"raise"``: :meth:`problem` raises the error it is given; ``"skip"``: it records
        ``(path, reason)`` in :attr:`skipped`, and :meth:`warn` lists them.
    """

    def __init__(self, on_error):
        check_on_error(on_error)
        self.on_error = on_error
        self.skipped = []  # (path, reason) of scans, masks, folders and metadata rows left out
        self.ignored = []  # (path, why) of entries that are not scans by design of the layout
        self.notes = []  # other things worth a warning

    def problem(self, error, source=None, reason=None):
        """Raise ``error``, or record it as skipped (``source``/``reason`` default to its own)."""
        if self.on_error == "raise":
            raise error
        source = error.source if source is None else source
        self.skipped.append((str(source), reason or getattr(error, "reason", str(error))))

    def warn(self):
        """Emit one warning for the skipped entries, one for the ignored ones, one per note."""
        if self.skipped:
            warnings.warn(
                f"Skipped {len(self.skipped)} unreadable scan(s) or entries (listed in the Bunch's "
                f"'skipped'):\n{_listing(self.skipped)}",
                stacklevel=4,
            )
        if self.ignored:
            warnings.warn(
                f"Ignored {len(self.ignored)} folder entries that are not scans of this layout:\n"
                f"{_listing(self.ignored)}\nScans must sit directly in the class folders and end in one "
                f"of {SCAN_EXTENSIONS}.",
                stacklevel=4,
            )
        for note in self.notes:
            warnings.warn(note, stacklevel=4)


def list_folder(folder, report):
    """Sub-folders, scan files and other files directly in ``folder`` (sorted, hidden ones left out).

    Dangling symbolic links and link loops are problems (raised or skipped); an unreadable
    folder is a problem too, and then yields nothing.
    """
    folder = Path(folder)
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        kind = PermissionError if isinstance(exc, PermissionError) else OSError
        reason = (
            f"the folder cannot be listed ({exc.strerror or exc}); give your user read and execute "
            "access to it (e.g. chmod a+rx)"
        )
        error = kind(f"Cannot read folder {str(folder)!r}: {reason}, or pass on_error='skip'.")
        report.problem(error, folder, reason + ".")
        return [], [], []
    folders, scans, others = [], [], []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            folders.append(entry)
        elif entry.is_file():
            (scans if entry.name.lower().endswith(SCAN_EXTENSIONS) else others).append(entry)
        elif entry.is_symlink():
            try:
                check_scan_path(entry)  # raises with the link's own reason
            except ScanReadError as error:
                report.problem(error)
        else:
            others.append(entry)
    return folders, scans, others


def class_scans(class_dir, report, loader="the loader"):
    """The scan files of one class folder; nested folders and other files are reported."""
    folders, scans, others = list_folder(class_dir, report)
    for folder in folders:
        if folder.name.lower().endswith(SCAN_EXTENSIONS):
            report.problem(
                ScanReadError(
                    folder,
                    "this is a folder named like an image, not an image file; "
                    "move its images into the class folder or rename it.",
                )
            )
        else:
            report.ignored.append((folder, f"a nested folder ({loader} reads only the class folder itself)"))
    report.ignored.extend((path, "not a scan file (unsupported extension)") for path in others)
    if not scans and not folders and not others:
        report.notes.append(f"The class folder {str(class_dir)!r} holds no scans.")
    return scans


def check_files(frame, report, *, decode):
    """Check every scan (and mask) of ``frame``; drop the rows of bad scans, the bad masks."""
    keep = np.ones(len(frame), dtype=bool)
    for i, path in enumerate(frame["image"]):
        try:
            check_scan_file(path, decode=decode)
        except ScanReadError as error:
            report.problem(error)
            keep[i] = False
    if "mask" in frame.columns:
        masks = frame["mask"].to_numpy(dtype=object, copy=True)
        for i, mask in enumerate(masks):
            if not keep[i] or not isinstance(mask, str):
                continue
            try:
                check_scan_file(mask, decode=decode)
            except ScanReadError as error:
                report.problem(error, reason=f"the lung mask of {frame['image'].iloc[i]!r}: {error.reason}")
                masks[i] = np.nan
        frame = frame.assign(mask=masks)
    return frame.loc[keep].reset_index(drop=True)


def drop_unreadable(frame, on_error, *, decode=True):
    """Check every scan and mask of ``frame``; raise, or drop them and warn. Returns (frame, skipped)."""
    report = LoadReport(on_error)
    frame = check_files(frame, report, decode=decode)
    report.warn()
    return frame, report.skipped


def read_csv(csv, where, *, dtype, header_example):
    """Read a CSV file; an empty, non-UTF-8, malformed or unreadable one raises naming ``where`` and the fix.

    The text columns (``dtype``) lose surrounding spaces, so that ``" COVID"`` reads as ``"COVID"``.

    Parameters
    ----------
    csv : Path
    where : str
        The file as the messages name it ("The metadata file '...'").
    dtype : dict
        Passed to :func:`pandas.read_csv`.
    header_example : str
        A header line the file could have, shown when it is empty.
    """
    try:
        table = pd.read_csv(csv, dtype=dtype)
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"{where} is empty; give it a header line such as {header_example!r} and one row per scan "
            "(or delete it)."
        ) from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{where} is not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset "
            f"{exc.start}); re-save it as UTF-8, for example with pandas.read_csv(path, "
            "encoding='latin-1').to_csv(path, index=False)."
        ) from None
    except pd.errors.ParserError as exc:
        raise ValueError(
            f"{where} is not well-formed CSV ({str(exc).strip()}); fix the line named there (an unquoted "
            "comma or a stray quote), or quote fields that hold commas."
        ) from None
    except OSError as exc:
        raise type(exc)(
            f"Cannot read {where[0].lower()}{where[1:]} ({exc.strerror or exc}); give your user read access "
            "to it."
        ) from exc
    for column in [c for c in dtype if c in table.columns]:  # " COVID" is not a class of its own
        table[column] = table[column].str.strip()
    return table


def fill_patients(frame, default, how):
    """Give scans without a patient id their own (``default``), warning with ``how`` to provide them."""
    if "patient" not in frame.columns:
        frame["patient"] = np.nan
    missing = frame["patient"].isna().to_numpy()
    if missing.any():
        example = default[missing].iloc[0]
        warnings.warn(
            f"{int(missing.sum())} of {len(frame)} scans have no patient id (e.g. {example!r}): each of them "
            "is treated as its own patient, so a patient-grouped split cannot keep one patient's scans "
            f"together. {how}, or set bunch.data['patient'] yourself.",
            stacklevel=4,
        )
        frame["patient"] = frame["patient"].where(~missing, default)
    frame["patient"] = frame["patient"].astype(str)
    return frame


def make_bunch(frame, *, target_column="label", skipped=(), description=""):
    """Assemble the loaders' Bunch (frame, data, target, target_names, skipped)."""
    if frame.empty:
        raise ValueError(
            "No scans were found; check the folder layout (see the loader's docstring)"
            + (f" and the {len(skipped)} skipped entries listed in the warning." if skipped else ".")
        )
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
