"""``skcovid predict``: annotate scans with a saved model (CSV of predictions + overlay PNGs).

The model is a file written by :func:`skcovid.persistence.dump` of a fitted skcovid
classifier (``ImageClassifier``, ``MultiTaskUNet``, ``DRENetClassifier``, a multi-modal
pipeline...) or an ``.onnx`` file written by :func:`skcovid.export.export_onnx` (run by
:class:`skcovid.export.OnnxClassifier`). Pickle and joblib files are refused unless
``--trust-pickle`` is given: loading one runs whatever code it holds.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from ._cli_common import EXIT_FAILURE, EXIT_USAGE
from ._cli_common import Abort as _Abort
from .explain._contract import is_multilabel


def add_arguments(parser):
    """Add the options of ``skcovid predict`` to ``parser``."""
    parser.add_argument("--model", required=True, help="a model saved by skcovid.persistence.dump "
                        "(e.g. the demo's model.skcovid), or a .onnx file written by "
                        "skcovid.export.export_onnx")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="also load pickle/joblib model files; loading one runs any code it holds, "
                        "so only for files you made yourself or fully trust")
    parser.add_argument("--images", required=True, nargs="+", metavar="PATH",
                        help="image files and/or folders (searched recursively for image files)")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--gradcam", action=argparse.BooleanOptionalAction, default=True,
                        help="overlay a Grad-CAM heatmap of the predicted class (torch models only)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="binary models: predict --positive-label when its probability reaches this "
                        "(default: the most probable class); multi-label models: label threshold (0.5)")
    parser.add_argument("--positive-label", default=None,
                        help="the positive class for --threshold (default: COVID if a class, else the last)")
    parser.add_argument("--modality", choices=("auto", "xray", "ct"), default="auto",
                        help="modality of the scans; auto: 'ct' for paths in a folder named CT*, else 'xray'")
    parser.add_argument("--batch-size", type=int, default=16, help="scans per batch (default 16)")
    parser.add_argument("--target-layer", default=None, help="Grad-CAM layer name (default: automatic)")
    parser.add_argument("--scheduler", metavar="ADDRESS|local:N",
                        help="predict on a Dask cluster (skcovid.distributed.predict_to_csv): a scheduler "
                        "address (tcp://host:8786) or local:N worker processes; the same CSV and overlays")
    parser.add_argument("--chunksize", type=int, default=256,
                        help="with --scheduler: scans per partition (default: %(default)s)")


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
        print(f"skcovid predict: warning: the training of {str(path)!r} was interrupted; its predictions "
              "come from a partly trained model.", file=sys.stderr)
    return model, ("torch" if hasattr(model, "module_") else "other")


def collect_images(items):
    """Expand folders (recursively, image extensions) and keep files; return (paths, missing)."""
    from .preprocessing import IMAGE_EXTENSIONS

    paths, missing = [], []
    for item in items:
        item = Path(item)
        if item.is_dir():
            found = (p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            paths += sorted(found)
        elif item.is_file():
            paths.append(item)
        else:
            missing.append((item, "no such file or folder"))
    return paths, missing


def _modality(path, choice):
    if choice != "auto":
        return choice
    parts = [part.lower() for part in Path(path).parts[:-1]]
    return "ct" if any(p == "ct" or p.startswith(("ct_", "ct-")) for p in parts) else "xray"


# -- predictions -------------------------------------------------------------------------
class _Decider:
    """Turns probabilities into displayed labels (threshold, positive label, multi-label)."""

    def __init__(self, classes, multilabel, threshold, positive_label, model_thresholds=None):
        self.classes = [str(c) for c in classes]
        self.multilabel = multilabel
        self.threshold = threshold
        cuts = threshold if threshold is not None else model_thresholds  # multi-label only
        cuts = np.asarray(0.5 if cuts is None else cuts, dtype=float)
        self.cuts = np.broadcast_to(cuts, (len(self.classes),))
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise _Abort(f"--threshold must be in [0, 1]; got {threshold}.", EXIT_USAGE)
        if threshold is not None and not multilabel and len(self.classes) != 2:
            raise _Abort(
                f"--threshold applies to binary and multi-label models; this model has "
                f"{len(self.classes)} classes {self.classes}: drop --threshold.", EXIT_USAGE
            )
        if positive_label is None:
            positive_label = "COVID" if "COVID" in self.classes else self.classes[-1]
        if str(positive_label) not in self.classes:
            raise _Abort(f"--positive-label {positive_label!r} is not a class of the model {self.classes}.",
                         EXIT_USAGE)
        self.positive = self.classes.index(str(positive_label))

    def index(self, proba):
        """The class index to explain (and, single-label, to predict) for one row."""
        if self.threshold is None or self.multilabel:
            return int(np.argmax(proba))
        return self.positive if proba[self.positive] >= self.threshold else 1 - self.positive

    def label(self, proba):
        if not self.multilabel:
            return self.classes[self.index(proba)]
        return ";".join(c for c, p, cut in zip(self.classes, proba, self.cuts) if p >= cut) or "none"


def _masks(model, kind, table):
    if kind == "onnx":
        return model.predict_mask_proba(table) if "mask" in model.metadata_["output_names"] else None
    return np.asarray(model.predict_mask(table)) if hasattr(model, "predict_mask") else None


def _save_overlay(path, gray, heatmap, mask, title):
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    from .explain import plot_gradcam

    height, width = gray.shape
    fig = Figure(figsize=(4, 4 * height / width + 0.5))
    plot_gradcam(gray, heatmap, mask=mask, ax=fig.subplots(), title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _process_batch(batch, model, kind, decider, cam, args, overlays, rows, start):
    """Predict, explain and draw one batch of readable scans; append its CSV rows when all worked."""
    import pandas as pd

    table = pd.DataFrame({"image": [gray for _, gray in batch],
                          "modality": [_modality(path, args.modality) for path, _ in batch]})
    proba = np.asarray(model.predict_proba(table), dtype=float)
    targets = [decider.index(p) for p in proba]
    masks = _masks(model, kind, table)
    heatmaps = None if cam is None else cam.explain(table, target=targets, batch_size=args.batch_size)
    new_rows = []
    for i, ((path, gray), p) in enumerate(zip(batch, proba)):
        label = decider.label(p)
        overlay = overlays / f"{start + i:04d}_{path.stem}.png"
        caption = ", ".join(f"{c} {v:.2f}" for c, v in zip(decider.classes, p))
        _save_overlay(overlay, gray, None if heatmaps is None else heatmaps[i],
                      None if masks is None else masks[i], f"{label}\n{caption}")
        row = {"path": str(path), "predicted": label}
        row.update({f"proba_{c}": f"{v:.6f}" for c, v in zip(decider.classes, p)})
        if masks is not None:
            row["mask_fraction"] = f"{float(np.mean(masks[i] >= 0.5)):.4f}"
        row.update({"overlay": str(overlay), "error": ""})
        new_rows.append(row)
    rows.extend(new_rows)


def _process_safely(batch, failed, *context):
    """Process a batch; when it fails, process its scans one by one and record the failures."""
    rows = context[-1]
    try:
        _process_batch(batch, *context, len(rows))
    except Exception as exc:  # a scan the model cannot take must not lose the others
        if len(batch) == 1:
            failed.append((batch[0][0], f"{type(exc).__name__}: {exc}"))
            return
        for item in batch:
            _process_safely([item], failed, *context)


def _write_csv(path, rows, classes, has_mask):
    columns = ["path", "predicted", *[f"proba_{c}" for c in classes]]
    columns += ["mask_fraction"] if has_mask else []
    columns += ["overlay", "error"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def predict_images(args):
    """Run the command; return the exit code (raises _Abort for usage/model errors)."""
    from .preprocessing import read_scan

    model, kind = load_model(args.model, trust_pickle=args.trust_pickle)
    if args.batch_size < 1:
        raise _Abort(f"--batch-size must be positive; got {args.batch_size}.", EXIT_USAGE)
    decider = _Decider(model.classes_, is_multilabel(model), args.threshold, args.positive_label,
                       getattr(model, "thresholds_", None))
    paths, failed = collect_images(args.images)
    if not paths and not failed:
        raise _Abort(f"no image files found in {args.images}.", EXIT_USAGE)
    out = Path(args.out)
    overlays = out / "overlays"
    overlays.mkdir(parents=True, exist_ok=True)
    cam = None
    if args.gradcam and kind == "torch":
        from .explain import GradCAM

        cam = GradCAM(model, target_layer=args.target_layer)
    if args.gradcam and kind != "torch":
        print(f"Grad-CAM is not available for {'ONNX' if kind == 'onnx' else 'this'} model; "
              "overlays show probabilities" + (" and masks" if kind == "onnx" else "") + " only.")
    rows, batch, has_mask = [], [], False
    for number, path in enumerate(paths):
        try:
            batch.append((path, read_scan(path)))
        except Exception as exc:  # ScanReadError, or anything a broken file raises
            failed.append((path, str(exc)))
        if len(batch) == args.batch_size or (number == len(paths) - 1 and batch):
            _process_safely(batch, failed, model, kind, decider, cam, args, overlays, rows)
            has_mask = has_mask or any("mask_fraction" in row for row in rows)
            batch = []
    rows += [{"path": str(path), "predicted": "", "error": reason} for path, reason in failed]
    _write_csv(out / "predictions.csv", rows, decider.classes, has_mask)
    print(f"Predicted {len(rows) - len(failed)} scan(s); wrote {out / 'predictions.csv'} "
          f"and overlays in {overlays}.")
    if failed:
        print(f"Skipped {len(failed)} unreadable input(s):", file=sys.stderr)
        for path, reason in failed:
            print(f"  {path}: {reason}", file=sys.stderr)
    return 0 if len(rows) > len(failed) else EXIT_FAILURE


def predict_on_cluster(args):
    """``--scheduler``: the same CSV and overlays, computed by :func:`skcovid.distributed.predict_to_csv`."""
    from .distributed import predict_to_csv

    check_model_path(args.model, trust_pickle=args.trust_pickle)
    try:
        written = predict_to_csv(
            args.model, args.images, args.out, scheduler=args.scheduler, gradcam=args.gradcam,
            threshold=args.threshold, positive_label=args.positive_label, modality=args.modality,
            batch_size=args.batch_size, target_layer=args.target_layer, trust_pickle=args.trust_pickle,
            chunksize=args.chunksize,
        )
    except (ImportError, ValueError) as exc:
        raise _Abort(str(exc), EXIT_FAILURE) from None
    with open(written, newline="") as handle:
        failed = sum(1 for row in csv.DictReader(handle) if row["error"])
    print(f"Predicted on {args.scheduler}; wrote {written} and overlays in {Path(args.out) / 'overlays'}"
          + (f" ({failed} unreadable input(s), listed in the CSV)." if failed else "."))
    return 0


def run(args):
    """Entry point of ``skcovid predict``; returns the exit code."""
    try:
        return predict_on_cluster(args) if args.scheduler else predict_images(args)
    except _Abort as abort:
        print(f"skcovid predict: error: {abort}", file=sys.stderr)
        return abort.code
