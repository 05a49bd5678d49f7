"""``skcovid train``: fit a model on a folder or scan-table CSV and save it (``model.skcovid``).

``--model mtl`` (default) fits the multi-modal multi-task system of
:func:`skcovid.multimodal.make_mtl_pipeline` with its main options; ``--model image``
fine-tunes one CNN end to end (:class:`skcovid.nets.ImageClassifier`), the kind of model
``skcovid export`` writes to ONNX. The model (:func:`skcovid.persistence.dump`, no pickle)
and ``report.json`` (settings, data, fit time) are written last, together: an interrupted
fit leaves neither and exits with 130.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ._cli_common import (
    EXIT_USAGE,
    Abort,
    add_data_argument,
    add_embedder_arguments,
    add_progress_argument,
    fitted_children,
    guarded,
    load_data,
    positive_int,
)


def _widths(text):
    """argparse type: hidden layer widths written ``256,64``."""
    import argparse

    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"write layer widths as integers separated by commas (e.g. 256,64); got {text!r}"
        ) from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"layer widths must be positive; got {text!r}")
    return widths


def _folds(text):
    """argparse type of ``--cv``: an integer >= 2, or ``none``."""
    import argparse

    if text.lower() == "none":
        return None
    if not text.isdigit() or int(text) < 2:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2 or 'none'; got {text!r}")
    return int(text)


def add_arguments(parser):
    """Add the options of ``skcovid train`` to ``parser``."""
    add_data_argument(parser, split_default="train", split_help="rows of DATA to train on")
    parser.add_argument(
        "--out",
        default="skcovid-model",
        metavar="DIR",
        help="output folder: model.skcovid and report.json (default: %(default)s)",
    )
    parser.add_argument(
        "--model",
        choices=("mtl", "image"),
        default="mtl",
        help="mtl: the multi-modal multi-task system (make_mtl_pipeline); image: one CNN "
        "fine-tuned end to end (ImageClassifier, exportable to ONNX) (default: %(default)s)",
    )
    add_embedder_arguments(parser, embedder_help="mtl: the image embedder;")
    parser.add_argument(
        "--image-size",
        type=positive_int,
        help="image side in pixels (default: the embedder's own; 224 for --model image)",
    )
    parser.add_argument(
        "--adversarial",
        choices=("gradient_reversal", "minimax", "none"),
        default="gradient_reversal",
        help="mtl: adversarial training of the shared features (default: %(default)s)",
    )
    parser.add_argument(
        "--max-epochs",
        type=positive_int,
        help="epochs of the extractors and head (mtl, default 30) or of the CNN (image, default 10)",
    )
    parser.add_argument(
        "--embedder-epochs",
        type=positive_int,
        default=10,
        help="mtl: fine-tuning epochs of --embedder fine_tuned (default: %(default)s)",
    )
    parser.add_argument(
        "--cv",
        type=_folds,
        default=5,
        metavar="K|none",
        help="mtl: folds of the out-of-fold features the head learns from; none: "
        "in-sample features (default: %(default)s)",
    )
    # the defaults of make_mtl_pipeline (tests/test_cli_train.py keeps them equal)
    for branch, default in (("task", "256,64"), ("shared", "256,8"), ("head", "64")):
        parser.add_argument(
            f"--{branch}-hidden",
            type=_widths,
            default=_widths(default),
            metavar="W,W",
            help=f"mtl: hidden layer widths of the {branch} network (default: {default})",
        )
    parser.add_argument("--lr", type=float, help="learning rate (default: 1e-3)")
    parser.add_argument("--batch-size", type=positive_int, help="batch size (default: 64 mtl, 32 image)")
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="mtl: folder caching the embeddings, reused by later runs on the same images",
    )
    parser.add_argument(
        "--random-state", type=int, default=0, help="makes the fit repeatable (default: %(default)s)"
    )
    add_progress_argument(parser)


def _optional(args, **names):
    """The options the user gave, under the estimator's parameter names."""
    return {
        param: getattr(args, option) for param, option in names.items() if getattr(args, option) is not None
    }


def build_model(args, modalities):
    """The unfitted estimator the options describe."""
    common = dict(
        device=args.device,
        random_state=args.random_state,
        **_optional(args, max_epochs="max_epochs", lr="lr", batch_size="batch_size", image_size="image_size"),
    )
    if args.model == "image":
        from .nets import ImageClassifier

        return ImageClassifier(
            args.backbone, weights=args.weights, verbose=int(not args.no_progress), **common
        )
    from .multimodal import make_mtl_pipeline

    quiet_texture = {"verbose": int(not args.no_progress)} if args.embedder == "texture" else {}
    return make_mtl_pipeline(
        embedder=args.embedder,
        backbone=args.backbone,
        weights=args.weights,
        embedder_max_epochs=args.embedder_epochs,
        embedder_params=quiet_texture,
        adversarial=None if args.adversarial == "none" else args.adversarial,
        task_hidden=args.task_hidden,
        shared_hidden=args.shared_hidden,
        head_hidden=args.head_hidden,
        cv=args.cv,
        cache=args.cache,
        modalities=tuple(modalities),
        **common,
    )


STEP_NAMES = {
    "embed": "embedding the scans",
    "features": "task-specific and shared extractors",
    "head": "classifier head",
}


def fit_with_progress(model, X, y, args):
    """Fit ``model``; a Pipeline step by step under a progress bar (its fit, without the silence)."""
    from sklearn.pipeline import Pipeline
    from tqdm.auto import tqdm

    if not isinstance(model, Pipeline):
        return model.fit(X, y)
    with tqdm(
        total=len(model.steps), desc="skcovid train", file=sys.stderr, unit="step", disable=args.no_progress
    ) as bar:
        Xt = X
        for name, step in model.steps[:-1]:
            bar.set_postfix_str(STEP_NAMES.get(name, name))
            Xt = step.fit_transform(Xt, y)
            bar.update(1)
        name, last = model.steps[-1]
        bar.set_postfix_str(STEP_NAMES.get(name, name))
        last.fit(Xt, y)
        bar.update(1)
    return model


def quiet_embedders(estimator, depth=5):
    """Turn off the texture embedders' progress bars inside a fitted model (the saved model stays quiet)."""
    from .embedders import TextureEmbedder

    for _, child in fitted_children(estimator):
        if isinstance(child, TextureEmbedder):
            child.verbose = 0
        elif depth:
            quiet_embedders(child, depth - 1)


def _plain_parameters(model):
    """The model's parameters that JSON can hold (numbers, text, flags, widths), deep."""
    plain = (str, int, float, bool, type(None))
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in model.get_params().items()
        if isinstance(value, plain) or (isinstance(value, tuple) and all(isinstance(v, plain) for v in value))
    }


def _train(args):
    import numpy as np

    from ._demo import _check_not_interrupted, _json_default, _save_together

    X, y, described = load_data(args)
    if len(set(y)) < 2:
        raise Abort(
            f"DATA has one class only ({sorted(map(str, set(y)))}) among the selected scans; training needs "
            "two or more.",
            EXIT_USAGE,
        )
    modalities = [m for m in ("xray", "ct") if m in set(X["modality"])]  # make_mtl_pipeline's order
    print(f"skcovid train: {described}")
    model = build_model(args, modalities)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    fit_with_progress(model, X, y, args)
    seconds = time.perf_counter() - start
    _check_not_interrupted({args.model: model})
    quiet_embedders(model)
    classes, counts = np.unique(y, return_counts=True)
    report = {
        "command": "train",
        "model": args.model,
        "estimator": type(model).__name__,
        "settings": {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in vars(args).items()
            if not k.startswith("_") and k != "command"
        },
        # what the options left to the estimator's defaults became
        "parameters": _plain_parameters(model),
        "data": {
            "source": str(args.data),
            "description": described,
            "n_scans": int(len(X)),
            "modalities": {str(m): int(n) for m, n in X["modality"].value_counts().items()},
            "classes": {str(c): int(n) for c, n in zip(classes, counts)},
        },
        "fit_seconds": seconds,
        "files": ["model.skcovid", "report.json"],
    }
    _save_together(out, model, json.dumps(report, indent=2, default=_json_default))
    print(f"Trained {type(model).__name__} in {seconds:.0f} s; wrote model.skcovid and report.json to {out}.")
    return 0


def run(args):
    """Entry point of ``skcovid train``; returns the exit code."""
    return guarded("train", _train, args)
