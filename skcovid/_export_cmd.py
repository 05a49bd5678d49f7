"""``skcovid export``: a saved image model to ONNX, checked against the model it came from.

ONNX export takes one network with its preprocessing: ``ImageClassifier``,
``MultiTaskUNet``, ``DRENetClassifier`` or a ``FineTunedEmbedder``
(:func:`skcovid.export.export_onnx`). A multi-modal pipeline has no single network (it
routes rows by modality, standardises features, stacks extractors): the command says so
and lists the networks inside it that ``--part`` can export on their own. After writing
``model.onnx`` and ``model.json`` the command runs both the saved model and the ONNX file
(:class:`skcovid.export.OnnxClassifier`) on test images and fails when their probabilities
differ by more than ``--tolerance``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._cli_common import EXIT_FAILURE, EXIT_USAGE, Abort, fitted_children, guarded, positive_int

EXPORTABLE = "ImageClassifier, MultiTaskUNet, DRENetClassifier or FineTunedEmbedder"


def add_arguments(parser):
    """Add the options of ``skcovid export`` to ``parser``."""
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="a model saved by skcovid train --model image or skcovid.persistence.dump",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE.onnx",
        help="the ONNX file to write; the metadata goes beside it (FILE.json)",
    )
    parser.add_argument(
        "--part",
        metavar="NAME",
        help="export this network inside the model (the names are listed when MODEL "
        "itself cannot be exported)",
    )
    parser.add_argument("--opset", type=positive_int, default=17, help="ONNX opset (default: %(default)s)")
    parser.add_argument(
        "--no-dynamic-batch",
        action="store_true",
        help="fix the batch dimension to 1 (default: any batch size)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1e-4,
        help="largest difference of probabilities accepted between the model and the ONNX "
        "file on the check images (default: %(default)s)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also load pickle/joblib model files (they run any code they hold)",
    )


def _is_exportable(obj):
    from .explain._contract import CONTRACT

    return all(hasattr(obj, name) for name in CONTRACT) and not isinstance(obj, type)


def exportable_parts(model, prefix="", depth=4):
    """``{dotted name: estimator}`` of the exportable networks inside ``model``."""
    found = {}
    for name, child in fitted_children(model) if depth else ():
        path = f"{prefix}{name}"
        if _is_exportable(child):
            found[path] = child
        else:
            found.update(exportable_parts(child, f"{path}.", depth - 1))
    return found


def _select(model, args):
    if args.part is None and _is_exportable(model):
        return model
    parts = exportable_parts(model)
    if args.part is not None and args.part in parts:
        return parts[args.part]
    listing = (
        f"Networks inside it that --part can export on their own (their outputs are that network's "
        f"class probabilities, not the whole model's): {', '.join(parts)}."
        if parts
        else "It holds no such network (the texture embedder has none)."
    )
    if args.part is not None:
        raise Abort(
            f"--part {args.part!r} is not an exportable network of {args.model!r}. {listing}", EXIT_USAGE
        )
    raise Abort(
        f"{args.model!r} holds a {type(model).__name__}, which has no single network to export: ONNX "
        f"export takes an image estimator ({EXPORTABLE}). Train one with 'skcovid train DATA --model "
        f"image'. {listing}",
        EXIT_USAGE,
    )


def _check_images(network, random_state=0):
    """A few images of the network's input size, and their scan table."""
    import pandas as pd

    rng = np.random.default_rng(random_state)
    height, width = network.preprocessor_.size_
    images = list(rng.integers(0, 256, size=(4, height + 7, width + 3), dtype=np.uint8))
    return pd.DataFrame({"image": images, "modality": "xray"})


def _export(args):
    from ._predict import load_model
    from .export import OnnxClassifier, export_onnx

    out = Path(args.out)
    if out.suffix.lower() != ".onnx":
        raise Abort(
            f"--out {str(out)!r} must end in .onnx (the metadata is written beside it as .json).", EXIT_USAGE
        )
    if Path(args.model).suffix.lower() == ".onnx":
        raise Abort(f"{args.model!r} is an ONNX file already; export a .skcovid model.", EXIT_USAGE)
    model, _ = load_model(args.model, trust_pickle=args.trust_pickle)
    network = _select(model, args)
    path = export_onnx(network, out, opset=args.opset, dynamic_batch=not args.no_dynamic_batch)
    check = _check_images(network)
    try:
        onnx_proba = OnnxClassifier(path).fit().predict_proba(check)
    except ImportError as exc:
        print(f"Wrote {path} and {path.with_suffix('.json')}; not checked ({exc}).")
        return 0
    difference = float(np.max(np.abs(onnx_proba - np.asarray(network.predict_proba(check)))))
    if difference > args.tolerance:
        raise Abort(
            f"the ONNX file {str(path)!r} gives probabilities up to {difference:.2g} away from the "
            f"model's on test images (--tolerance {args.tolerance:g}); try another --opset.",
            EXIT_FAILURE,
        )
    print(
        f"Wrote {path} and {path.with_suffix('.json')} ({type(network).__name__}, classes "
        f"{np.asarray(network.classes_).tolist()}); its probabilities match the model's "
        f"(largest difference {difference:.1e} on {len(check)} test images)."
    )
    return 0


def run(args):
    """Entry point of ``skcovid export``; returns the exit code."""
    return guarded("export", _export, args)
