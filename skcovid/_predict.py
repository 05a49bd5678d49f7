"""``skcovid predict``: annotate scans with a saved model (CSV of predictions + overlay PNGs).

The model is a file written by :func:`skcovid.persistence.dump` of a fitted skcovid
classifier (``ImageClassifier``, ``MultiTaskUNet``, ``DRENetClassifier``, a multi-modal
pipeline...) or an ``.onnx`` file written by :func:`skcovid.export.export_onnx` (run by
:class:`skcovid.export.OnnxClassifier`). Pickle and joblib files are refused unless
``--trust-pickle`` is given: loading one runs whatever code it holds.

Rows are appended to ``predictions.csv`` as each batch finishes
(:func:`skcovid.explain.predict_rows`, :class:`skcovid.explain.PredictionWriter`): an
interrupted run keeps them, and ``--resume`` predicts only the scans not in the CSV yet.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from ._cli_common import EXIT_FAILURE, EXIT_USAGE
from ._cli_common import Abort as _Abort
from .explain._contract import CONTRACT, is_multilabel  # noqa: F401 (skcovid evaluate imports it)
from .explain._predict_rows import _Decider as _LabelRule


def add_arguments(parser):
    """Add the options of ``skcovid predict`` to ``parser``."""
    parser.add_argument(
        "--model",
        required=True,
        help="a model saved by skcovid.persistence.dump "
        "(e.g. the demo's model.skcovid), or a .onnx file written by "
        "skcovid.export.export_onnx",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also load pickle/joblib model files; loading one runs any code it holds, "
        "so only for files you made yourself or fully trust",
    )
    parser.add_argument(
        "--images",
        required=True,
        nargs="+",
        metavar="PATH",
        help="image files and/or folders (searched recursively for image files)",
    )
    parser.add_argument(
        "--out",
        required=True,
        help="output folder (created); predictions.csv gets each batch's rows as it finishes",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows already in OUT/predictions.csv (an interrupted run) and predict "
        "only the other scans, appending their rows; without it the CSV is written anew",
    )
    parser.add_argument(
        "--gradcam",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="overlay a Grad-CAM heatmap of the predicted class (torch models only)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="binary models: predict --positive-label when its probability reaches this "
        "(default: the most probable class); multi-label models: label threshold (0.5)",
    )
    parser.add_argument(
        "--positive-label",
        default=None,
        help="the positive class for --threshold (default: COVID if a class, else the last)",
    )
    parser.add_argument(
        "--modality",
        choices=("auto", "xray", "ct"),
        default="auto",
        help="modality of the scans; auto: 'ct' for paths in a folder named CT*, else 'xray'",
    )
    parser.add_argument("--batch-size", type=int, default=16, help="scans per batch (default 16)")
    parser.add_argument("--target-layer", default=None, help="Grad-CAM layer name (default: automatic)")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS|local:N",
        help="predict on a Dask cluster (skcovid.distributed.predict_to_csv): a scheduler "
        "address (tcp://host:8786) or local:N worker processes; the same CSV and overlays",
    )
    parser.add_argument(
        "--chunksize",
        type=int,
        default=256,
        help="with --scheduler: scans per partition (default: %(default)s)",
    )


# -- inputs ------------------------------------------------------------------------------
PICKLE_REFUSED = (
    "{path!r} is neither a model saved by skcovid.persistence.dump nor an ONNX export. If it is a "
    "pickle or joblib file: loading one runs whatever code it holds (a crafted file can do anything your "
    "account can), so skcovid predict does not load it. Re-save the model with skcovid.persistence.dump, "
    "or pass --trust-pickle if you made the file yourself or fully trust its source."
)


def _read_pickle(path, trust_pickle):
    if not trust_pickle:
        raise _Abort(PICKLE_REFUSED.format(path=str(path)), EXIT_USAGE)
    import joblib

    return joblib.load(path)


def check_model_path(path, *, trust_pickle=False):
    """``path`` as a Path; raise :class:`_Abort` (exit 2) when it is missing or an untrusted pickle."""
    from .persistence import is_model_file

    path = Path(path)
    if not path.is_file():
        raise _Abort(f"model file {str(path)!r} does not exist.", EXIT_USAGE)
    if path.suffix.lower() != ".onnx" and not trust_pickle and not is_model_file(path):
        raise _Abort(PICKLE_REFUSED.format(path=str(path)), EXIT_USAGE)
    return path


def load_model(path, *, trust_pickle=False):
    """Load a saved (skcovid.persistence), ONNX or, if trusted, joblib model; return ``(model, kind)``.

    ``kind`` is "torch" (a torch estimator: Grad-CAM works), "onnx" or "other".
    """
    from .persistence import is_fit_interrupted, is_model_file, load

    path = check_model_path(path, trust_pickle=trust_pickle)
    try:
        if path.suffix.lower() == ".onnx":
            from .export import OnnxClassifier

            return OnnxClassifier(path).fit(), "onnx"
        model = load(path) if is_model_file(path) else _read_pickle(path, trust_pickle)
    except _Abort:
        raise
    except Exception as exc:  # unreadable file, changed file, untrusted types, missing onnxruntime...
        raise _Abort(f"cannot load model {str(path)!r}: {type(exc).__name__}: {exc}", EXIT_FAILURE) from exc
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        raise _Abort(
            f"{str(path)!r} holds a {type(model).__name__}, not a fitted classifier with predict_proba "
            "and classes_ (ImageClassifier, MultiTaskUNet, DRENetClassifier, a multi-modal pipeline or an "
            ".onnx export).",
            EXIT_FAILURE,
        )
    if is_fit_interrupted(model):
        print(
            f"skcovid predict: warning: the training of {str(path)!r} was interrupted; its predictions "
            "come from a partly trained model.",
            file=sys.stderr,
        )
    return model, ("torch" if all(hasattr(model, name) for name in CONTRACT) else "other")


def collect_images(items):
    """Expand folders (recursively, image files, sorted); keep other items, which may be missing.

    A missing file or folder stays in the list: its row in ``predictions.csv`` says that
    it does not exist.
    """
    from .preprocessing import IMAGE_EXTENSIONS

    paths = []
    for item in items:
        item = Path(item)
        if item.is_dir():
            found = (p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            paths += sorted(found)
        else:
            paths.append(item)
    return paths


# -- predictions -------------------------------------------------------------------------
class _Decider(_LabelRule):
    """The labels of ``skcovid predict`` and ``skcovid evaluate``; a bad option exits with code 2."""

    def __init__(self, *args, **kwargs):
        try:
            super().__init__(*args, **kwargs)
        except ValueError as exc:
            raise _Abort(str(exc), EXIT_USAGE) from None


def predict_images(args):
    """Run the command; return the exit code (raises _Abort for usage/model errors)."""
    from .explain import PredictionWriter, predict_rows

    model, kind = load_model(args.model, trust_pickle=args.trust_pickle)
    options = {
        "gradcam": args.gradcam,
        "threshold": args.threshold,
        "positive_label": args.positive_label,
        "modality": args.modality,
        "batch_size": args.batch_size,
        "target_layer": args.target_layer,
    }
    try:
        predict_rows(model, [], **options)  # checks the options before any file is touched
    except ValueError as exc:
        raise _Abort(str(exc), EXIT_USAGE) from None
    paths = collect_images(args.images)
    if not paths:
        raise _Abort(f"no image files found in {args.images}.", EXIT_USAGE)
    out = Path(args.out)
    overlays = out / "overlays"
    overlays.mkdir(parents=True, exist_ok=True)
    if args.gradcam and kind != "torch":
        print(
            f"Grad-CAM is not available for {'an ONNX' if kind == 'onnx' else 'this'} model; "
            "overlays show the probabilities (and the lung mask, for a model that predicts one) only."
        )
    failed, good = [], 0
    with PredictionWriter(out / "predictions.csv", resume=args.resume) as writer:
        todo = [(n, p) for n, p in enumerate(paths) if str(p) not in writer.done]
        batches = predict_rows(
            model, [p for _, p in todo], overlays=overlays, numbers=[n for n, _ in todo], **options
        )
        try:
            for rows in batches:
                writer.write(rows)
                failed += [(row["path"], row["error"]) for row in rows if row["error"]]
                good += sum(not row["error"] for row in rows)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(
                f"{len(writer.done) + writer.written} of {len(paths)} rows are in "
                f"{writer.path}; run the same command with --resume to finish"
            ) from None
        except ValueError as exc:  # resuming a CSV written by another model or with other options
            raise _Abort(str(exc), EXIT_USAGE) from None
    resumed = f" ({len(writer.done)} already there)" if writer.done else ""
    print(f"Predicted {good} scan(s){resumed}; wrote {writer.path} and overlays in {overlays}.")
    if failed:
        print(f"Skipped {len(failed)} unreadable input(s):", file=sys.stderr)
        for path, reason in failed:
            print(f"  {path}: {reason}", file=sys.stderr)
    return 0 if good or not todo else EXIT_FAILURE


def predict_on_cluster(args):
    """``--scheduler``: the same CSV and overlays, computed by :func:`skcovid.distributed.predict_to_csv`."""
    from .distributed import predict_to_csv

    check_model_path(args.model, trust_pickle=args.trust_pickle)
    try:
        written = predict_to_csv(
            args.model,
            args.images,
            args.out,
            scheduler=args.scheduler,
            gradcam=args.gradcam,
            threshold=args.threshold,
            positive_label=args.positive_label,
            modality=args.modality,
            batch_size=args.batch_size,
            target_layer=args.target_layer,
            trust_pickle=args.trust_pickle,
            chunksize=args.chunksize,
        )
    except (ImportError, ValueError) as exc:
        raise _Abort(str(exc), EXIT_FAILURE) from None
    with open(written, newline="") as handle:
        failed = sum(1 for row in csv.DictReader(handle) if row["error"])
    print(
        f"Predicted on {args.scheduler}; wrote {written} and overlays in {Path(args.out) / 'overlays'}"
        + (f" ({failed} unreadable input(s), listed in the CSV)." if failed else ".")
    )
    return 0


def run(args):
    """Entry point of ``skcovid predict``; returns the exit code."""
    try:
        return predict_on_cluster(args) if args.scheduler else predict_images(args)
    except _Abort as abort:
        print(f"skcovid predict: error: {abort}", file=sys.stderr)
        return abort.code
