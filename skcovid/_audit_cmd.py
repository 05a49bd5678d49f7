"""``skcovid audit``: the shortcut audit of a folder or scan table (:func:`skcovid.audit.audit_shortcuts`).

Per modality, out-of-fold by patient with patient-bootstrap CIs: does a metadata
attribute (``source``, ``view``, ``age``...) predict the label on its own, can the image
embeddings tell its values apart within a class, does a model's AUC hold within each
value, and does it still score with the lungs blanked out? Written under ``--out``:
``audit.txt`` (the printed report), ``audit_report.csv`` (one row per check),
``audit_stratified.csv`` and ``audit_scores.csv`` (when the estimator checks ran),
``audit.json`` and ``audit.png`` (a forest plot of every AUC with its CI).

The estimator and lung-mask checks train a logistic regression on texture features per
fold, or, with ``--model``, score the scans with a saved model as it is (read as
``skcovid predict`` reads it, wrapped in :class:`sklearn.frozen.FrozenEstimator`): audit
it on scans it was not trained on (``--split test``). A saved model cannot be retrained on
blanked scans, so its report has no ``lungs blanked, retrained`` row.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._cli_common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    Abort,
    add_data_argument,
    add_progress_argument,
    guarded,
    load_data,
    positive_int,
    records,
    write_json,
)

CHECKS = ("label", "embeddings", "estimator", "lungs")


def add_arguments(parser):
    """Add the options of ``skcovid audit`` to ``parser``."""
    add_data_argument(parser, split_default="all", split_help="rows of DATA to audit")
    parser.add_argument(
        "--model",
        metavar="MODEL",
        default=None,
        help="a saved model (.skcovid, .onnx) that the estimator and lungs checks score as it is, "
        "instead of a logistic regression trained per fold; audit it on held-out scans (--split test)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="with --model: also load pickle/joblib files (they run any code they hold)",
    )
    parser.add_argument(
        "--out", default="skcovid-audit", metavar="DIR", help="output folder (default: %(default)s)"
    )
    parser.add_argument(
        "--attributes",
        nargs="+",
        default=["source"],
        metavar="COLUMN",
        help="metadata columns to audit (default: source)",
    )
    parser.add_argument(
        "--checks",
        nargs="+",
        choices=CHECKS,
        default=list(CHECKS),
        metavar="CHECK",
        help="checks to run: label (no image read), embeddings, estimator, lungs (default: all)",
    )
    parser.add_argument(
        "--lung-mask",
        choices=("auto", "own", "mean", "none"),
        default="auto",
        help="scans blanked in the lung-mask test (default: %(default)s)",
    )
    parser.add_argument(
        "--cv", type=positive_int, default=5, help="patient-grouped folds (default: %(default)s)"
    )
    parser.add_argument(
        "--flag-auc",
        type=float,
        default=0.6,
        help="a check flags when its CI lies above this AUC (default: %(default)s)",
    )
    parser.add_argument(
        "--n-bootstraps",
        type=positive_int,
        default=1000,
        help="patient-bootstrap replicates of each CI (default: %(default)s)",
    )
    parser.add_argument("--n-jobs", type=int, default=None, help="processes of the texture embedder")
    parser.add_argument(
        "--random-state", type=int, default=0, help="makes the folds and CIs repeatable (default: 0)"
    )
    parser.add_argument(
        "--fail-on-flag", action="store_true", help="exit with 1 when a check flags (for CI pipelines)"
    )
    add_progress_argument(parser)


def _audit(args):
    import matplotlib.pyplot as plt

    from .audit import audit_shortcuts
    from .embedders import TextureEmbedder

    X, y, described = load_data(args)
    missing = [a for a in args.attributes if a not in X.columns]
    if missing:
        metadata = [c for c in X.columns if c not in ("image", "modality", "patient", "mask")]
        raise Abort(
            f"--attributes {missing}: DATA has no such column; its metadata columns are {metadata} "
            "(add them to the folder's metadata.csv or to the scan table).",
            EXIT_USAGE,
        )
    estimator = _saved_model(args, y)
    print(f"skcovid audit: {described}")
    embedder = TextureEmbedder(n_jobs=args.n_jobs, cache=True, verbose=int(not args.no_progress))
    result = audit_shortcuts(
        X,
        y,
        attributes=args.attributes,
        estimator=estimator,
        embedder=embedder,
        checks=args.checks,
        lung_mask=args.lung_mask,
        cv=args.cv,
        flag_auc=args.flag_auc,
        n_bootstraps=args.n_bootstraps,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
    )
    if estimator is not None:
        result = _without_retraining(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = str(result)
    (out / "audit.txt").write_text(text + "\n")
    result.report.to_csv(out / "audit_report.csv", index=False)
    files = ["audit.txt", "audit_report.csv"]
    for name in ("stratified", "scores"):
        frame = getattr(result, name)
        if frame is not None:
            frame.to_csv(out / f"audit_{name}.csv", index=name == "scores")
            files.append(f"audit_{name}.csv")
    result.plot().figure.savefig(out / "audit.png", dpi=100, bbox_inches="tight")
    plt.close("all")
    files += ["audit.json", "audit.png"]
    write_json(
        out / "audit.json",
        {
            "command": "audit",
            "data": {"source": str(args.data), "description": described, "n_scans": int(len(X))},
            "settings": {
                "model": None if args.model is None else str(args.model),
                "attributes": args.attributes,
                "checks": args.checks,
                "cv": args.cv,
                "flag_auc": args.flag_auc,
                "n_bootstraps": args.n_bootstraps,
                "random_state": args.random_state,
                "lung_mask": args.lung_mask,
            },
            "positive_label": result.pos_label,
            "shortcut_attributes": [list(pair) for pair in result.shortcut_attributes()],
            "n_flagged": int(len(result.flagged)),
            "report": records(result.report),
            "files": files,
        },
    )
    print(text)
    print(f"\nWrote {', '.join(files)} to {out}.")
    if args.fail_on_flag and len(result.flagged):
        print(f"skcovid audit: {len(result.flagged)} check(s) flagged (--fail-on-flag).", file=sys.stderr)
        return EXIT_FAILURE
    return 0


def _saved_model(args, y):
    """The ``--model`` file as a :class:`~sklearn.frozen.FrozenEstimator` (None without it)."""
    if args.model is None:
        return None
    from sklearn.frozen import FrozenEstimator

    from ._predict import load_model

    model, _ = load_model(args.model, trust_pickle=args.trust_pickle)
    classes = [str(c) for c in model.classes_]
    unknown = sorted({str(label) for label in y} - set(classes))
    if unknown:
        raise Abort(
            f"DATA has labels {unknown} that the model {str(args.model)!r} does not know (its classes: "
            f"{classes}); audit it on data labelled with its classes.",
            EXIT_FAILURE,
        )
    return FrozenEstimator(model)


def _without_retraining(result):
    """Drop the ``lungs blanked, retrained`` rows: a frozen model only repeats its blanked scores."""
    from dataclasses import replace

    report = result.report[result.report["subset"] != "lungs blanked, retrained"].reset_index(drop=True)
    scores = result.scores
    if scores is not None:
        scores = scores.drop(columns=["score_lungs_blanked_retrained"])
    return replace(result, report=report, scores=scores)


def run(args):
    """Entry point of ``skcovid audit``; returns the exit code."""
    return guarded("audit", _audit, args)
