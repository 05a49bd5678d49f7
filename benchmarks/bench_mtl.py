"""The multi-modal multi-task system against baselines on the real covid-scans Test split (CPU).

Train on the Train split, score on the Test split (grouped by patient by the data's
authors). One fine-tuned ResNet-18 embedder per modality is trained on the Train split
only (random initialisation: no network access here, so no ImageNet weights), every image
is embedded once, and the compared models are fitted on the same training embeddings:

(a) ``mtl_adversarial``: task-specific + adversarial shared features + head;
(b) ``mtl``: the same without adversarial training;
(c) ``single_modality``: one ClassifierHead per modality on the embeddings;
(d) ``logistic_regression``: standardised embeddings, logistic regression.

Per modality: accuracy, sensitivity, specificity and ROC AUC with 95 % patient-bootstrap
CIs; paired McNemar and DeLong tests of (a) against the others; wall time of each step.

Run: ``python benchmarks/bench_mtl.py`` (about 5-10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REAL_DATA, markdown_table, report  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REAL_DATA))
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--embedder-epochs", type=int, default=3)
    parser.add_argument("--embedder-hidden", type=int, default=256)
    parser.add_argument("--max-epochs", type=int, default=30, help="epochs of the extractors and heads")
    parser.add_argument(
        "--adversarial", default="gradient_reversal", choices=["gradient_reversal", "minimax"]
    )
    parser.add_argument("--weights", default=None, help="backbone weights (default: random initialisation)")
    parser.add_argument("--n-bootstraps", type=int, default=2000)
    parser.add_argument("--random-state", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    import numpy as np
    from sklearn.base import clone

    from skcovid.datasets import load_scan_folder
    from skcovid.multimodal import ModalityRouter, make_embedder
    from skcovid.multimodal._experiment import (
        MAIN,
        TEST_COLUMNS,
        comparison_models,
        evaluation_table,
        fit_models,
        modality_leakage,
        paired_tests,
    )

    args = parse_args(argv)
    load_before, total_start = os.getloadavg(), time.perf_counter()
    bunch = load_scan_folder(args.data)
    X, y = bunch.data, np.asarray(bunch.target)
    train = (X["split"] == "train").to_numpy()
    X_train, y_train, X_test, y_test = X[train], y[train], X[~train], y[~train]
    settings = {
        "image_size": args.image_size,
        "backbone": "resnet18",
        "weights": args.weights or "random init",
        "embedder": "fine_tuned (one per modality)",
        "embedder_epochs": args.embedder_epochs,
        "embedder_hidden": args.embedder_hidden,
        "max_epochs": args.max_epochs,
        "adversarial": args.adversarial,
        "n_bootstraps": args.n_bootstraps,
        "device": "cpu",
        "random_state": args.random_state,
        "n_train": int(train.sum()),
        "n_test": int((~train).sum()),
    }
    print(f"bench_mtl: {settings}", flush=True)

    start = time.perf_counter()
    embedder = make_embedder(
        "fine_tuned",
        backbone="resnet18",
        weights=args.weights,
        image_size=args.image_size,
        max_epochs=args.embedder_epochs,
        device="cpu",
        random_state=args.random_state,
        hidden=args.embedder_hidden,
    )
    router = ModalityRouter({"xray": embedder, "ct": clone(embedder)})
    E_train = router.fit_transform(X_train, y_train)
    embed_fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    E_test = router.transform(X_test)
    embed_test_seconds = time.perf_counter() - start
    print(
        f"embedders: fit + embed train {embed_fit_seconds:.0f} s, embed test {embed_test_seconds:.0f} s",
        flush=True,
    )

    models = comparison_models(
        adversarial=args.adversarial, max_epochs=args.max_epochs, device="cpu", random_state=args.random_state
    )
    results = fit_models(models, E_train, y_train, E_test)
    modality, patients = E_test["modality"].to_numpy(), E_test["patient"].to_numpy()
    table = evaluation_table(
        y_test, results, modality, patients, n_bootstraps=args.n_bootstraps, random_state=args.random_state
    )
    tests = paired_tests(y_test, results, modality)

    rows = []
    for (name, group), block in table.groupby(["model", "group"], sort=False):
        row = {"model": name, "modality": group, "n": int(block["n"].iloc[0])}
        for metric in block.itertuples():
            row[metric.metric] = round(float(metric.value), 3)
            row[f"{metric.metric}_ci"] = f"[{metric.ci_low:.3f}, {metric.ci_high:.3f}]"
        row["fit_seconds"] = round(results[name]["fit_seconds"], 1)
        rows.append(row)
    columns = [
        "model",
        "modality",
        "n",
        "accuracy",
        "accuracy_ci",
        "sensitivity",
        "sensitivity_ci",
        "specificity",
        "specificity_ci",
        "roc_auc",
        "roc_auc_ci",
        "fit_seconds",
    ]
    test_rows = [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
        for r in tests.to_dict(orient="records")
    ]
    leakage = modality_leakage(results)
    notes = (
        f"Settings: {settings}. Embedders (both modalities): fit + embed Train {embed_fit_seconds:.0f} s, "
        f"embed Test {embed_test_seconds:.0f} s; `fit_seconds` is each model's fit on the embeddings. "
        "CIs: 95 % percentile bootstrap over patients. CT scores are optimistic (see the data README: "
        "neighbouring CT slices can sit on both sides of the split).\n\n"
        f"Paired tests of `{MAIN}` against each model (McNemar on predictions, DeLong on scores; "
        "Holm-adjusted within each test):\n\n"
        + markdown_table(test_rows, list(TEST_COLUMNS))
        + "\n\nModality leakage of the shared features (held-out accuracy of a fresh MLP probe; "
        "majority share in brackets): "
        + ", ".join(
            f"{k}: {v['modality_accuracy']:.3f} ({v['modality_chance']:.3f})" for k, v in leakage.items()
        )
        + "\n"
    )
    load = {"before": [round(v, 2) for v in load_before], "after": [round(v, 2) for v in os.getloadavg()]}
    total_seconds = time.perf_counter() - total_start
    notes += (
        f"\nTotal wall time {total_seconds:.0f} s. Machine load (1/5/15-min load averages) "
        f"before: {load['before']}, after: {load['after']}; "
        "wall times are inflated when other processes share the cores.\n"
    )
    report(
        "bench_mtl",
        rows,
        columns=columns,
        command="python benchmarks/bench_mtl.py",
        notes=notes,
        meta={
            "settings": settings,
            "paired_tests": test_rows,
            "modality_leakage": leakage,
            "embed_fit_seconds": embed_fit_seconds,
            "embed_test_seconds": embed_test_seconds,
            "load_average": load,
            "total_seconds": total_seconds,
        },
    )
    print(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
