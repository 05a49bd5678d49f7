"""``skcovid evaluate``: a saved model on a folder or scan table -> clinical report, plots, JSON.

The model is a ``.skcovid`` file (:func:`skcovid.persistence.dump`), an ``.onnx`` export,
or (with ``--trust-pickle``) a joblib file, read as ``skcovid predict`` reads it. The
report is :func:`skcovid.metrics.clinical_report` of the model's probabilities, per
modality and over all scans, with patient-bootstrap (or Wilson, Clopper-Pearson) CIs.
Written under ``--out``: ``metrics.csv`` (the tidy report), ``predictions.csv`` (one row
per scan), ``report.json`` (settings, data, metrics), ``roc.png`` and
``confusion_matrices.png``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ._cli_common import (
    EXIT_FAILURE,
    Abort,
    add_data_argument,
    add_progress_argument,
    guarded,
    in_chunks,
    load_data,
    positive_int,
    progress,
    records,
    write_json,
)


def add_arguments(parser):
    """Add the options of ``skcovid evaluate`` to ``parser``."""
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="a model saved by skcovid train or skcovid.persistence.dump (.skcovid), or a .onnx export",
    )
    add_data_argument(parser, split_default="test", split_help="rows of DATA to evaluate on")
    parser.add_argument(
        "--out", default="skcovid-evaluation", metavar="DIR", help="output folder (default: %(default)s)"
    )
    parser.add_argument(
        "--positive-label",
        default=None,
        help="the positive class (default: COVID if a class of the model, else the last)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="binary models: predict the positive class when its probability reaches this "
        "(default: the most probable class)",
    )
    parser.add_argument(
        "--ci-method",
        choices=("bootstrap", "wilson", "clopper_pearson"),
        default="bootstrap",
        help="intervals of the proportions; bootstrap resamples patients, wilson and "
        "clopper_pearson assume independent rows (use --aggregate) (default: %(default)s)",
    )
    parser.add_argument(
        "--aggregate",
        choices=("mean", "max"),
        default=None,
        help="report per patient: the mean or max of each patient's scan probabilities (default: per scan)",
    )
    parser.add_argument(
        "--n-bootstraps",
        type=positive_int,
        default=1000,
        help="bootstrap replicates of the CIs (default: %(default)s)",
    )
    parser.add_argument("--random-state", type=int, default=0, help="makes the CIs repeatable (default: 0)")
    parser.add_argument(
        "--batch-size", type=positive_int, default=256, help="scans predicted at once (default: %(default)s)"
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also load pickle/joblib model files (they run any code they hold)",
    )
    add_progress_argument(parser)


def report_arguments(args, groups):
    """The ``clinical_report`` keywords the options ask for (groups: patient ids or None)."""
    bootstrap = args.ci_method == "bootstrap"
    return dict(
        groups=groups if (bootstrap or args.aggregate) else None,
        aggregate=args.aggregate,
        ci_method=args.ci_method,
        n_bootstraps=args.n_bootstraps,
        random_state=args.random_state,
    )


def clinical_tables(y, proba, pred, classes, positive, modality, keywords):
    """``clinical_report`` per modality and over all rows, as one table (``group`` says which)."""
    from sklearn.exceptions import UndefinedMetricWarning

    from .metrics import clinical_report

    binary = len(classes) == 2
    score = proba[:, positive] if binary else proba
    labels = dict(pos_label=classes[positive]) if binary else dict(labels=classes)
    if keywords["aggregate"]:
        pred = None  # patient-level labels come from the aggregated scores
    frames = []
    for by in (modality, None):
        with warnings.catch_warnings():  # a modality with one class: its undefined metrics are NaN
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            frames.append(clinical_report(y, score, pred, by=by, **labels, **keywords))
    import pandas as pd

    table = pd.concat(frames, ignore_index=True)
    table["group"] = table["group"].astype(str)
    return table


def _plots(out, y, proba, pred, classes, positive, modality):
    """ROC curves (binary models) and confusion matrices, one panel per modality."""
    import matplotlib.pyplot as plt

    from .multimodal._experiment import two_of_each
    from .plotting import RocCurveDisplay, plot_confusion_matrices

    groups = sorted(set(modality))
    files = ["confusion_matrices.png"]
    figure, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4.5), squeeze=False)
    plot_confusion_matrices(y, pred, by=modality, axes=axes[0], labels=list(classes))
    figure.tight_layout()
    figure.savefig(out / files[0], dpi=100, bbox_inches="tight")
    if len(classes) == 2:
        files.append("roc.png")
        figure, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 5), squeeze=False)
        for ax, group in zip(axes[0], groups):
            rows = modality == group
            if len(set(y[rows])) == 2:
                RocCurveDisplay.from_predictions(
                    y[rows],
                    proba[rows, positive],
                    pos_label=classes[positive],
                    name="model",
                    ax=ax,
                    ci=0.95 if two_of_each(y[rows]) else None,
                )
            ax.set_title(f"ROC, {group} (n = {int(rows.sum())})")
        figure.savefig(out / files[1], dpi=100, bbox_inches="tight")
    plt.close("all")
    return files


def _predictions_table(X, y, proba, pred, classes):
    import pandas as pd

    table = pd.DataFrame(
        {
            "image": X["image"].astype(str),
            "modality": X["modality"],
            "patient": X["patient"],
            "label": y,
            "predicted": pred,
        }
    )
    for i, name in enumerate(classes):
        table[f"proba_{name}"] = proba[:, i]
    return table


def _evaluate(args):
    import pandas as pd

    from ._predict import _Decider, is_multilabel, load_model
    from .multimodal._experiment import wide_table

    model, _ = load_model(args.model, trust_pickle=args.trust_pickle)
    if is_multilabel(model):
        raise Abort(
            f"{args.model!r} is a multi-label model; skcovid evaluate reports single-label "
            "classifiers. Evaluate it in Python with clinical_report per label.",
            EXIT_FAILURE,
        )
    X, y, described = load_data(args)
    classes = np.asarray(model.classes_).astype(str)
    y = y.astype(str)
    unknown = sorted(str(label) for label in set(y) - set(classes))
    if unknown:
        raise Abort(
            f"DATA has labels {unknown} that the model does not know (its classes: {classes.tolist()}); "
            "evaluate on data labelled with the model's classes.",
            EXIT_FAILURE,
        )
    decider = _Decider(classes, False, args.threshold, args.positive_label)
    print(f"skcovid evaluate: {described}")
    with progress(len(X), "skcovid evaluate", args) as bar:
        proba = in_chunks(model.predict_proba, X, chunk_size=args.batch_size, bar=bar).astype(float)
    pred = np.asarray([decider.label(p) for p in proba])
    modality = X["modality"].to_numpy().astype(str)
    keywords = report_arguments(args, X["patient"].to_numpy())
    table = clinical_tables(y, proba, pred, classes, decider.positive, modality, keywords)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "metrics.csv", index=False)
    _predictions_table(X, y, proba, pred, classes).to_csv(out / "predictions.csv", index=False)
    files = ["metrics.csv", "predictions.csv", "report.json"] + _plots(
        out, y, proba, pred, classes, decider.positive, modality
    )
    level = "patient (" + args.aggregate + " of scan probabilities)" if args.aggregate else "scan"
    write_json(
        out / "report.json",
        {
            "command": "evaluate",
            "model": str(args.model),
            "classes": classes.tolist(),
            "positive_label": classes[decider.positive],
            "threshold": args.threshold,
            "level": level,
            "settings": {k: keywords[k] for k in ("aggregate", "ci_method", "n_bootstraps", "random_state")},
            "data": {
                "source": str(args.data),
                "description": described,
                "n_scans": int(len(X)),
                "modalities": {str(m): int(n) for m, n in X["modality"].value_counts().items()},
            },
            "metrics": records(table),
            "files": files,
        },
    )
    wide = table[table["class"].isin([classes[decider.positive], "overall"])].assign(
        model=Path(args.model).name
    )
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(f"\nPer-{level.split(' ')[0]} metrics with 95% CIs ({args.ci_method}):")
        print(wide_table(wide).drop(columns="model").to_string(index=False))
    print(f"\nWrote {', '.join(files)} to {out}.")
    return 0


def run(args):
    """Entry point of ``skcovid evaluate``; returns the exit code."""
    return guarded("evaluate", _evaluate, args)
