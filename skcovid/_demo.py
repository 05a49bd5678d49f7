"""``skcovid demo``: fit, evaluate and compare the multi-modal multi-task system.

With no arguments the demo generates the built-in synthetic X-ray + CT scans, embeds every
image once (texture features by default; a CNN embedder with ``--embedder``, fitted on the
training split only), fits the multi-task system with and without adversarial shared
features and two baselines on the same embeddings, evaluates them on the test split (per
modality, with bootstrap CIs), tests the differences (McNemar, DeLong), measures how well a
fresh probe reads the modality from the shared features, and writes under ``--out``:
``model.skcovid`` (:func:`skcovid.persistence.dump`: no pickle), ``report.json``,
``confusion_matrices.png`` (the main model, one panel per modality) and ``roc.png`` (every
model, one panel per modality). The files have the names ``skcovid evaluate`` gives them,
and the models keep one name everywhere: the ``model`` column of ``report.json``, the
paired tests and the ROC legends (``mtl_adversarial``, the main model; ``mtl``;
``single_modality``; ``logistic_regression``).
``--data DIR`` does the same on a folder laid out as ``X_Ray_Train/COVID``,
``CT_Scan_Test/Non_COVID``, ...

The model and the report are written last, together: an interrupted run (Ctrl-C, also
when skorch stopped a training early and the estimator flagged ``fit_interrupted_``)
leaves neither, and ``skcovid`` exits with 130.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

DEFAULTS = dict(
    n_samples=300,
    image_size=None,
    max_epochs=None,
    embedder_epochs=3,
    embedder_hidden=256,
    n_bootstraps=1000,
)
QUICK = dict(
    n_samples=60,
    image_size=32,
    max_epochs=3,
    embedder_epochs=1,
    embedder_hidden=16,
    task_hidden=(16,),
    shared_hidden=(16,),
    head_hidden=(8,),
    cv=2,
    n_bootstraps=100,
)
POS_LABEL = "COVID"
MODEL_FILE, REPORT_FILE = "model.skcovid", "report.json"
#: Side of the generated synthetic scans when --image-size is not given.
SYNTHETIC_IMAGE_SIZE = 64


def add_arguments(parser):
    """Register the demo's options on ``parser``."""
    parser.add_argument(
        "--data",
        metavar="DIR",
        help="a folder laid out as X_Ray_Train/COVID, CT_Scan_Test/Non_COVID, ...; default: synthetic scans",
    )
    parser.add_argument(
        "--out", metavar="DIR", default="skcovid-demo", help="output folder (default: %(default)s)"
    )
    parser.add_argument("--n-samples", type=int, help="synthetic scans to generate (default 300; quick 60)")
    parser.add_argument(
        "--image-size", type=int, help="image side in pixels (default: the embedder's; quick 32)"
    )
    parser.add_argument("--backbone", default="resnet18", help="torchvision backbone (default: %(default)s)")
    parser.add_argument(
        "--embedder",
        choices=["texture", "pretrained", "fine_tuned"],
        default="texture",
        help="image embedder (default: %(default)s)",
    )
    parser.add_argument(
        "--weights",
        default=None,
        help="backbone weights: a torchvision name or a local state_dict file (default: random)",
    )
    parser.add_argument(
        "--max-epochs", type=int, help="epochs of the extractors and heads (default 30; quick 3)"
    )
    parser.add_argument("--embedder-epochs", type=int, help="fine-tuning epochs of the embedder (default 3)")
    parser.add_argument(
        "--adversarial",
        choices=["gradient_reversal", "minimax"],
        default="gradient_reversal",
        help="adversarial training of the main model (default: %(default)s)",
    )
    parser.add_argument("--n-bootstraps", type=int, help="bootstrap replicates of the CIs (default 1000)")
    parser.add_argument("--device", default="auto", help="torch device (default: %(default)s)")
    parser.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="tiny settings (for tests and a first look)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def _settings(args):
    settings = dict(QUICK if args.quick else DEFAULTS)
    for key in ("n_samples", "image_size", "max_epochs", "embedder_epochs", "n_bootstraps"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    settings.update(
        backbone=args.backbone,
        embedder=args.embedder,
        weights=args.weights,
        device=args.device,
        random_state=args.random_state,
        adversarial=args.adversarial,
        data=str(args.data) if args.data else "synthetic",
    )
    return settings


def _load(args, settings):
    """(X_train, y_train, X_test, y_test) from the folder's or the synthetic data's split column."""
    import numpy as np

    from .datasets import load_scan_folder, make_synthetic_scans, train_test_split_by_patient

    if args.data:
        bunch = load_scan_folder(args.data)
    else:
        bunch = make_synthetic_scans(
            settings["n_samples"],
            image_size=settings["image_size"] or SYNTHETIC_IMAGE_SIZE,
            random_state=settings["random_state"],
        )
    X, y = bunch.data, np.asarray(bunch.target)
    if POS_LABEL not in set(y):
        raise ValueError(
            f"The data has no {POS_LABEL!r} scans (labels: {sorted(set(y))}); the demo needs them."
        )
    train = (X["split"] == "train").to_numpy() if "split" in X.columns else np.zeros(len(X), bool)
    if train.all() or not train.any():  # no usable split column: split by patient
        X_train, X_test, y_train, y_test = train_test_split_by_patient(
            X, y, random_state=settings["random_state"]
        )
        return X_train, np.asarray(y_train), X_test, np.asarray(y_test)
    return X[train], y[train], X[~train], y[~train]


def _embed(X_train, y_train, X_test, settings, progress):
    """Fit the embedding step on the training scans; embed train and test once."""
    from .multimodal import MultiModalEmbedder, make_embedder

    params = {"hidden": settings["embedder_hidden"]} if settings["embedder"] == "fine_tuned" else {}
    embedder = make_embedder(
        settings["embedder"],
        backbone=settings["backbone"],
        weights=settings["weights"],
        image_size=settings["image_size"],
        max_epochs=settings["embedder_epochs"],
        device=settings["device"],
        random_state=settings["random_state"],
        **params,
    )
    modalities = sorted(set(X_train["modality"]))
    embed = MultiModalEmbedder(embedder, modalities=tuple(modalities))
    progress.set_postfix_str(f"{settings['embedder']} embedder on {len(X_train)} training scans")
    E_train = embed.fit_transform(X_train, y_train)
    progress.update(1)
    progress.set_postfix_str(f"embedding {len(X_test)} test scans")
    E_test = embed.transform(X_test)
    progress.update(1)
    return embed, E_train, E_test, modalities


def _plots(out, y_test, results, modality):
    """Write ``confusion_matrices.png`` and ``roc.png`` under ``out``; return their names.

    ``results`` maps each model's name to its test-split result; the names label the ROC
    curves as they label the rows of the report.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from .multimodal._experiment import MAIN, positive_scores, two_of_each
    from .plotting import RocCurveDisplay, plot_confusion_matrices

    groups = sorted(set(modality))
    figure, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4.5), squeeze=False)
    plot_confusion_matrices(y_test, results[MAIN]["pred"], by=modality, axes=axes[0])
    figure.suptitle(f"{MAIN}: confusion matrix per modality (test split)")
    figure.tight_layout()
    figure.savefig(out / "confusion_matrices.png", dpi=100, bbox_inches="tight")
    figure, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 5), squeeze=False)
    for ax, group in zip(axes[0], groups):
        rows = np.asarray(modality) == group
        for model, result in results.items():
            if len(set(y_test[rows])) == 2:  # the AUC's DeLong CI needs two scans of each class
                RocCurveDisplay.from_predictions(
                    y_test[rows],
                    positive_scores(result, POS_LABEL)[rows],
                    pos_label=POS_LABEL,
                    name=model,
                    ax=ax,
                    ci=0.95 if two_of_each(y_test[rows]) else None,
                )
        ax.set_title(f"ROC, {group} (n = {int(rows.sum())})")
    figure.savefig(out / "roc.png", dpi=100, bbox_inches="tight")
    plt.close("all")
    return ["confusion_matrices.png", "roc.png"]


def _patient_summary(model, X_test, y_test):
    import numpy as np

    from .multimodal import predict_patients

    fused = predict_patients(model, X_test, fusion="mean")
    truth = dict(zip(X_test["patient"], y_test))
    correct = fused["prediction"].to_numpy() == np.asarray([truth[p] for p in fused.index])
    both = (
        (fused["modalities"] == "ct+xray").to_numpy() if "modalities" in fused else np.zeros(len(fused), bool)
    )
    return {
        "fusion": "mean",
        "n_patients": int(len(fused)),
        "accuracy": float(correct.mean()),
        "n_patients_with_both_modalities": int(both.sum()),
        "accuracy_with_both_modalities": float(correct[both].mean()) if both.any() else None,
    }


def run(args):
    """Run the demo; returns the exit code."""
    try:
        settings = _settings(args)
        data = _load(args, settings)
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        print(f"skcovid demo: error: cannot use the data: {exc}", file=sys.stderr)
        return 2
    try:
        return _run(args, settings, *data)
    except (FileNotFoundError, RuntimeError) as exc:  # e.g. --weights: a missing file, no download
        print(f"skcovid demo: error: {exc}", file=sys.stderr)
        return 1


def _run(args, settings, X_train, y_train, X_test, y_test):
    from sklearn.pipeline import Pipeline
    from tqdm.auto import tqdm

    from .multimodal._experiment import (
        MAIN,
        comparison_models,
        evaluation_table,
        fit_models,
        modality_leakage,
        paired_tests,
        wide_table,
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    modalities_seen = sorted(set(X_train["modality"]))
    tiny = ("task_hidden", "shared_hidden", "head_hidden", "cv")
    overrides = {k: settings[k] for k in tiny if k in settings}
    if settings["max_epochs"] is not None:
        overrides["max_epochs"] = settings["max_epochs"]
    models = comparison_models(
        modalities=modalities_seen,
        adversarial=settings["adversarial"],
        device=settings["device"],
        random_state=settings["random_state"],
        **overrides,
    )
    with tqdm(total=2 + len(models), desc="skcovid demo", file=sys.stderr, disable=args.no_progress) as bar:
        embed, E_train, E_test, modalities = _embed(X_train, y_train, X_test, settings, bar)
        # the extractors and heads are small MLPs: one CPU thread is faster than several
        threads = 1 if str(settings["device"]) in ("cpu", "auto") else None
        results = fit_models(models, E_train, y_train, E_test, progress=bar, num_threads=threads)
    _check_not_interrupted({"embedder": embed, **{name: r["estimator"] for name, r in results.items()}})
    modality = E_test["modality"].to_numpy()
    patients = E_test["patient"].to_numpy() if "patient" in E_test else None
    table = evaluation_table(
        y_test,
        results,
        modality,
        patients,
        pos_label=POS_LABEL,
        n_bootstraps=settings["n_bootstraps"],
        random_state=settings["random_state"],
    )
    tests = paired_tests(y_test, results, modality, pos_label=POS_LABEL)
    model = Pipeline([("embed", embed)] + list(results[MAIN]["estimator"].steps))
    files = [MODEL_FILE, REPORT_FILE] + _plots(out, y_test, results, modality)
    report = {
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "data": {
            "n_train": int(len(X_train)),
            "n_test": int(len(X_test)),
            "modalities": modalities,
            "test_counts": {str(k): int(v) for k, v in E_test["modality"].value_counts().items()},
        },
        "main_model": MAIN,
        "metrics": table.to_dict(orient="records"),
        "paired_tests": tests.to_dict(orient="records"),
        "fit_seconds": {name: r["fit_seconds"] for name, r in results.items()},
        "shared_feature_modality_leakage": modality_leakage(
            results, E_test, random_state=settings["random_state"]
        ),
        "patients": _patient_summary(model, X_test, y_test) if "patient" in X_test else None,
        "seconds": time.perf_counter() - start,
        "files": files,
    }
    _save_together(out, model, json.dumps(report, indent=2, default=_json_default))
    _print_summary(report, wide_table(table), tests, out)
    return 0


def _check_not_interrupted(fitted):
    """Raise KeyboardInterrupt when a fit was interrupted (skorch returns from it quietly)."""
    from .persistence import is_fit_interrupted

    stopped = [name for name, estimator in fitted.items() if is_fit_interrupted(estimator)]
    if stopped:
        raise KeyboardInterrupt(f"the training of {', '.join(stopped)} was interrupted")


def _save_together(out, model, report_text):
    """Write the model and the report under temporary names, then rename both (report last).

    Interrupted (or failing) on the way, whatever this call wrote is removed, the model too
    if it was renamed already: no model or report of this run is left. The model is written
    without pickle (:func:`skcovid.persistence.dump`).
    """
    from .persistence import dump

    model_tmp, report_tmp = out / f".{MODEL_FILE}.partial", out / f".{REPORT_FILE}.partial"
    written = [model_tmp, report_tmp]
    try:
        dump(model, model_tmp)
        report_tmp.write_text(report_text)
        os.replace(model_tmp, out / MODEL_FILE)
        written.append(out / MODEL_FILE)
        os.replace(report_tmp, out / REPORT_FILE)
        written = [model_tmp, report_tmp]
    finally:
        for path in written:
            path.unlink(missing_ok=True)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _print_summary(report, wide, tests, out):
    import pandas as pd

    from .multimodal._experiment import TEST_COLUMNS

    data = report["data"]
    print(
        f"skcovid demo: {data['n_train']} training and {data['n_test']} test scans {data['test_counts']} "
        f"({report['settings']['data']})"
    )
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print("\nTest-split metrics with 95% patient-bootstrap CIs:")
        print(wide.to_string(index=False))
        columns = [c for c in TEST_COLUMNS if c in tests]
        print(f"\nPaired tests, {report['main_model']} against each model (p-values):")
        print(tests[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for name, leak in report["shared_feature_modality_leakage"].items():
        print(
            f"\n{name}: a fresh probe tells the modality from the test scans' shared features with "
            f"balanced accuracy {leak['balanced_accuracy']:.3f} "
            f"(chance {leak['chance_balanced_accuracy']:.3f})",
            end="",
        )
    if report["patients"]:
        p = report["patients"]
        print(
            f"\n\nPatient level ({p['fusion']} of probabilities): accuracy {p['accuracy']:.3f} over "
            f"{p['n_patients']} patients"
        )
    print(f"\nWrote {', '.join(report['files'])} to {out} in {report['seconds']:.0f} s.")
