"""What the ``skcovid`` sub-commands share: exit codes, errors, data loading, progress, output files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

#: The exit codes, as every command's ``--help`` lists them.
EXIT_CODES = """exit codes:
  0    success
  1    failure: the command ran and could not finish (unreadable data, a failed fit, a missing
       optional package); the message says what and how to fix it
  2    usage error: a wrong option or value, a file or folder that does not exist, a model file
       of the wrong kind
  130  interrupted (Ctrl-C); no model or report that claims to be complete is written"""

DATA_HELP = (
    "a folder laid out as X_Ray_Train/COVID, CT_Scan_Test/Non_COVID, ... (optional metadata.csv), or a "
    "scan-table CSV with columns path (or image), modality, label and optional patient, split, mask"
)


class Abort(Exception):
    """Stop the command with a message and an exit code."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def guarded(command, function, args):
    """Run ``function(args)``; print an :class:`Abort` (or a failure) as ``skcovid COMMAND: error``.

    KeyboardInterrupt is left to :func:`skcovid.cli.main` (exit code 130).
    """
    try:
        return function(args)
    except Abort as abort:
        print(f"skcovid {command}: error: {abort}", file=sys.stderr)
        return abort.code
    except (ImportError, RuntimeError, ValueError, OSError, TypeError) as exc:
        print(f"skcovid {command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def add_data_argument(parser, *, split_default, split_help):
    """The positional DATA and the ``--split`` / ``--modalities`` options that select its rows."""
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument(
        "--split",
        default=split_default,
        choices=("train", "test", "all"),
        help=f"{split_help} (default: %(default)s); a table without a split column is used whole",
    )
    parser.add_argument(
        "--modalities",
        nargs="+",
        choices=("xray", "ct"),
        metavar="MODALITY",
        help="keep only these modalities (xray, ct; default: all)",
    )


def add_embedder_arguments(parser, *, embedder_help):
    """``--embedder``, ``--backbone``, ``--weights``, ``--device``: the image embedder's options."""
    parser.add_argument(
        "--embedder",
        choices=("texture", "fine_tuned", "pretrained"),
        default="texture",
        help=f"{embedder_help} texture: texture statistics, no network; pretrained: a CNN's pooled features; "
        "fine_tuned: a CNN trained on DATA's labels (default: %(default)s)",
    )
    parser.add_argument(
        "--backbone", default="resnet18", help="torchvision backbone of the CNNs (default: %(default)s)"
    )
    parser.add_argument(
        "--weights",
        default=None,
        help="CNN weights: a torchvision name such as DEFAULT "
        "(downloaded once) or a local state_dict file (default: random initialisation)",
    )
    parser.add_argument(
        "--device", default="auto", help="torch device: auto, cpu, cuda (default: %(default)s)"
    )


def add_progress_argument(parser):
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def load_data(args):
    """``(X, y, description)`` from ``args.data`` (folder or CSV), ``args.split``, ``args.modalities``.

    Raises :class:`Abort`: exit 2 when the path does not exist or is neither a folder nor a
    ``.csv`` file, exit 1 when its content cannot be used (the loader's message names the
    file, line and column).
    """
    import numpy as np

    from .datasets import load_scan_folder, load_scan_table

    source = Path(args.data).expanduser()
    if source.is_dir():
        load, kind = load_scan_folder, "folder"
    elif source.is_file() and source.suffix.lower() == ".csv":
        load, kind = load_scan_table, "scan table"
    elif source.exists():
        raise Abort(f"DATA {str(source)!r} is neither a folder nor a .csv scan table.", EXIT_USAGE)
    else:
        raise Abort(
            f"DATA {str(source)!r} does not exist; pass a folder of scans or a scan-table CSV.", EXIT_USAGE
        )
    try:
        bunch = load(source, modalities=args.modalities)
    except (FileNotFoundError, ValueError) as exc:
        raise Abort(f"cannot use the {kind} {str(source)!r}: {exc}", EXIT_FAILURE) from None
    X, y = bunch.data, np.asarray(bunch.target)
    note = ""
    if args.split != "all" and "split" in X.columns:
        rows = (X["split"] == args.split).to_numpy()
        if not rows.any():
            raise Abort(
                f"the {kind} {str(source)!r} has no {args.split!r} scans (its splits: "
                f"{sorted(set(X['split'].dropna()))}); pass --split all or another split.",
                EXIT_USAGE,
            )
        X, y = X[rows].reset_index(drop=True), y[rows]
        note = f", split {args.split}"
    elif args.split != "all":
        note = f", all rows (no split column for --split {args.split})"
    counts = ", ".join(f"{n} {m}" for m, n in X["modality"].value_counts().sort_index().items())
    return X, y, f"{len(X)} scans ({counts}) from {source}{note}"


def progress(total, desc, args):
    """A tqdm bar on stderr (hidden by ``--no-progress``)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=args.no_progress, unit="scan")


def in_chunks(method, X, *, chunk_size, bar):
    """``method`` applied to ``X`` chunk by chunk (rows are independent), advancing ``bar``."""
    import numpy as np
    import pandas as pd

    parts = []
    for start in range(0, len(X), chunk_size):
        parts.append(method(X.iloc[start : start + chunk_size]))
        bar.update(min(chunk_size, len(X) - start))
    if isinstance(parts[0], pd.DataFrame):
        return pd.concat(parts)
    return np.concatenate([np.asarray(p) for p in parts])


def positive_int(text):
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        import argparse

        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def write_json(path, data):
    """Write ``data`` as indented JSON (numpy scalars as numbers, anything else as text)."""
    from ._demo import _json_default

    Path(path).write_text(json.dumps(data, indent=2, default=_json_default))


def records(frame):
    """A DataFrame as JSON-ready records (NaN as null)."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def fitted_children(obj):
    """``(name, child)`` of the estimators inside ``obj``: pipeline steps and fitted attributes."""
    from sklearn.base import BaseEstimator

    if hasattr(obj, "steps"):
        yield from obj.steps
    for name, value in vars(obj).items() if isinstance(obj, BaseEstimator) else ():
        if not name.endswith("_") or name.startswith("_"):
            continue
        values = value.items() if isinstance(value, dict) else [("", value)]
        for key, child in values:
            if isinstance(child, BaseEstimator):
                yield (f"{name}.{key}" if key else name), child
