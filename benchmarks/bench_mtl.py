"""The multi-modal multi-task system against baselines on the real covid-scans dev split (CPU).

Fit on the rows with ``split == "train"``, score on the rows with ``split == "test"``
(the split is grouped by patient by the data's authors). The scans are embedded once
(``MultiModalEmbedder``; the embedder is fitted on the training rows only) and every model
is fitted on the same training rows and scored on the same test rows:

- ``mtl_adversarial``: ``make_mtl_pipeline(embedder=None)`` at its defaults (task-specific
  features per modality + gradient-reversal adversarial shared features + head);
- ``mtl_minimax``: the same with ``adversarial="minimax"``;
- ``mtl``: the same with ``adversarial=None``;
- ``mtl_stack_layout``: ``mtl_adversarial`` with the task features of both modalities in the
  same columns (``features__task__layout="stack"``) instead of one block per modality;
- ``mtl_per_modality`` (``--embedder fine_tuned`` only): ``mtl_adversarial`` whose shared
  branch reads the per-modality embeddings instead of the joint one (for a fixed embedder,
  texture or pretrained, both layouts are the same columns, so it is skipped);
- ``single_modality``: the pipeline's ClassifierHead, one per modality (ModalityRouter);
- ``logistic_regression``: standardised embedding columns, LogisticRegression (both modalities);
- ``texture_hgb`` / ``texture_svm``: TextureEmbedder features, one HistGradientBoostingClassifier
  / RBF support vector machine per modality.

Reported per modality and for all rows: ROC AUC and accuracy with 95 % patient-bootstrap
CIs; DeLong (AUC) and McNemar (accuracy) tests of ``mtl_adversarial`` against each other
model, Holm-adjusted; the modality probe (``probe_modality``, patient-grouped folds over the
test rows, the default probe and a gradient-boosting one) of the shared branch's input (as it is
and standardised per modality) and of each pipeline's shared features; fit time of each model
and the embedding time; a one-line verdict per modality; the spread of ``mtl_adversarial``'s AUC over
``--spread`` further random states (default 4, about 2 minutes each).

Run: ``python benchmarks/bench_mtl.py`` (12-17 minutes on 2 shared CPU cores: about a minute
of texture features, which ``--cache DIR`` keeps between runs, then 11-15 minutes of fitting,
mostly the multi-task pipelines, whose out-of-fold training fits each branch 6 times;
``--spread 0`` saves the 8 minutes of the further random states;
``--quick``: 200 bootstraps instead of 2000, for a smoke run). ``--embedder fine_tuned``
first fine-tunes three ResNet-18s (one per modality and a joint one) on CPU: add about
7 minutes at 96 px and 3 epochs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _mtl_models as zoo  # noqa: E402
from _common import REAL_DATA, markdown_table, report  # noqa: E402

QUICK_BOOTSTRAPS = 200
CNN_IMAGE_SIZE = 96  # the CNN embedders' default here (224 is slow on CPU)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REAL_DATA))
    parser.add_argument("--embedder", default="texture", choices=["texture", "fine_tuned", "pretrained"])
    parser.add_argument(
        "--image-size", type=int, default=None, help=f"default: 128 (texture), {CNN_IMAGE_SIZE} (CNNs)"
    )
    parser.add_argument("--embedder-epochs", type=int, default=3, help="fine-tuning epochs (fine_tuned)")
    parser.add_argument("--embedder-hidden", type=int, default=256, help="embedding width (fine_tuned)")
    parser.add_argument("--weights", default=None, help="CNN backbone weights (default: random init)")
    parser.add_argument("--cache", default=None, help="embedding cache folder (default: none)")
    parser.add_argument("--n-bootstraps", type=int, default=2000)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--spread", type=int, default=4,
        help="refit mtl_adversarial with this many further random states to report its spread (0: off)",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_BOOTSTRAPS} bootstraps: a smoke run")
    return parser.parse_args(argv)


def make_image_embedder(args):
    """The MultiModalEmbedder of ``--embedder`` (joint shared embedding for the fine-tuned CNN)."""
    from skcovid.multimodal import MultiModalEmbedder, make_embedder

    size = args.image_size
    if args.embedder == "texture":
        embedder = make_embedder("texture", image_size=size, cache=args.cache, n_jobs=-1)
    else:
        extra = {"hidden": args.embedder_hidden} if args.embedder == "fine_tuned" else {}
        embedder = make_embedder(
            args.embedder,
            weights=args.weights,
            image_size=size or CNN_IMAGE_SIZE,
            max_epochs=args.embedder_epochs,
            cache=args.cache,
            random_state=args.random_state,
            **extra,
        )
    return MultiModalEmbedder(embedder, shared="joint")


def code_version():
    """The skcovid commit measured, with ``+dirty`` when skcovid/ has uncommitted changes."""
    import subprocess

    def git(*args):
        return subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent, capture_output=True,
                              text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "../skcovid") else "")


def embed(embedder, X_train, y_train, X_test):
    """(train frame, test frame, fit + embed train seconds, embed test seconds)."""
    start = time.perf_counter()
    E_train = embedder.fit_transform(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    E_test = embedder.transform(X_test)
    return E_train, E_test, fit_seconds, time.perf_counter() - start


def main(argv=None):
    import numpy as np
    from threadpoolctl import threadpool_limits

    from skcovid.datasets import load_scan_folder
    from skcovid.embedders import TextureEmbedder
    from skcovid.multimodal import MultiModalEmbedder
    from skcovid.multimodal._experiment import MAIN, evaluation_table, fit_models, paired_tests

    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    n_bootstraps = QUICK_BOOTSTRAPS if args.quick else args.n_bootstraps
    load_before, total_start = os.getloadavg(), time.perf_counter()
    bunch = load_scan_folder(args.data)
    X, y = bunch.data, np.asarray(bunch.target)
    train = (X["split"] == "train").to_numpy()
    X_train, y_train, X_test, y_test = X[train], y[train], X[~train], y[~train]
    per_modality = args.embedder == "fine_tuned"
    settings = {
        "embedder": args.embedder,
        "image_size": args.image_size or (128 if args.embedder == "texture" else CNN_IMAGE_SIZE),
        "cache": args.cache,
        "n_bootstraps": n_bootstraps,
        "random_state": args.random_state,
        "n_train": int(train.sum()),
        "n_test": int((~train).sum()),
        "skcovid_commit": code_version(),
    }
    if args.embedder != "texture":
        settings.update(backbone="resnet18", weights=args.weights or "random init")
    if per_modality:
        settings.update(embedder_epochs=args.embedder_epochs, embedder_hidden=args.embedder_hidden)
    print(f"bench_mtl: {settings}", flush=True)

    timings = {}
    E_train, E_test, timings["embed_fit_s"], timings["embed_test_s"] = embed(
        make_image_embedder(args), X_train, y_train, X_test
    )
    print(
        f"embedding ({args.embedder}): fit + embed train {timings['embed_fit_s']:.1f} s, "
        f"embed test {timings['embed_test_s']:.1f} s, {E_train.shape[1] - 2} columns",
        flush=True,
    )
    if args.embedder == "texture":
        T_train, T_test = E_train, E_test
    else:
        texture = MultiModalEmbedder(TextureEmbedder(cache=args.cache, n_jobs=-1))
        T_train, T_test, timings["texture_fit_s"], timings["texture_test_s"] = embed(
            texture, X_train, y_train, X_test
        )
        print(f"texture features: {timings['texture_fit_s'] + timings['texture_test_s']:.1f} s", flush=True)

    # (models, training frame, test frame): the pipelines read the joint layout, the
    # baselines the per-modality columns, the texture baselines the texture features.
    A_train, A_test = zoo.task_columns(E_train), zoo.task_columns(E_test)
    mtl = zoo.mtl_models(args.random_state, per_modality=per_modality)
    per_modality_model = {"mtl_per_modality": mtl.pop("mtl_per_modality")} if per_modality else {}
    groups = [
        (mtl, E_train, E_test),
        (per_modality_model, A_train, A_test),
        (zoo.baseline_models(args.random_state), A_train, A_test),
        (zoo.texture_baseline(args.random_state), T_train, T_test),
    ]
    # One thread for torch, BLAS and OpenMP from here on: the small MLPs fit as fast on one
    # thread as on two, and HistGradientBoosting's and the probe's thread pools stall badly
    # when another process shares the cores (measured: 200 s instead of 10 s).
    results, test_frames = {}, {}
    with threadpool_limits(1):
        for models, frame_train, frame_test in groups:
            for name, model in models.items():
                test_frames[name] = frame_test
                results.update(fit_models({name: model}, frame_train, y_train, frame_test, num_threads=1))
                print(f"fitted {name}: {results[name]['fit_seconds']:.1f} s", flush=True)
        modality, patients = X_test["modality"].to_numpy(), X_test["patient"].to_numpy()
        table = evaluation_table(
            y_test, results, modality, patients, n_bootstraps=n_bootstraps, random_state=args.random_state
        )
        tests = paired_tests(y_test, results, modality)
        probes = zoo.probe_rows(results, test_frames, random_state=args.random_state)
        extra = {}
        for k in range(1, args.spread + 1):
            state = args.random_state + k
            model = {MAIN: zoo.mtl_models(state)[MAIN]}
            extra[state] = fit_models(model, E_train, y_train, E_test, num_threads=1)[MAIN]
            print(f"fitted {MAIN} (random_state={state}): {extra[state]['fit_seconds']:.1f} s", flush=True)
        spread = zoo.spread_rows(results, extra, y_test, modality, main=MAIN) if extra else []
    rows = zoo.score_rows(table, results)
    # p-values keep their digits (a tiny one is printed as 1.2e-07, not 0)
    test_rows = [
        {k: (round(v, 4) if isinstance(v, float) and "pvalue" not in k else v) for k, v in r.items()}
        for r in tests.to_dict(orient="records")
    ]
    verdict = zoo.verdicts(rows, tests, MAIN)

    columns = ["model", "modality", "n", "roc_auc", "roc_auc_ci", "accuracy", "accuracy_ci", "fit_s"]
    test_columns = [
        "model_b", "group", "n", "auc_diff", "delong_pvalue", "delong_pvalue_holm",
        "mcnemar_pvalue", "mcnemar_pvalue_holm",
    ]
    layout = (
        "`mtl_per_modality` is `mtl_adversarial` on the per-modality layout: its shared branch "
        "reads the per-modality embeddings (the `shared_emb_*` columns dropped, which is what "
        "`MultiModalEmbedder(..., shared=\"per_modality\")` returns from the same fitted CNNs)."
        if per_modality
        else f"`mtl_per_modality` skipped: the {args.embedder} embedder is a fixed function, fitted "
        "once on all rows, so the joint and per-modality layouts are the same columns "
        "(`mtl_per_modality` would be `mtl_adversarial`); use `--embedder fine_tuned` to compare them."
    )
    texture_s = timings.get("texture_fit_s", 0) + timings.get("texture_test_s", 0)
    embedding = (
        f"Embedding ({args.embedder}{', cached' if args.cache else ''}): fit + embed Train "
        f"{timings['embed_fit_s']:.1f} s, embed Test {timings['embed_test_s']:.1f} s"
        + (f"; texture features {texture_s:.1f} s" if "texture_fit_s" in timings else "")
        + ". `fit_s`: each model's fit on the embeddings (torch, BLAS and OpenMP on 1 thread)."
    )
    total_seconds = time.perf_counter() - total_start
    load = {"before": [round(v, 2) for v in load_before], "after": [round(v, 2) for v in os.getloadavg()]}
    notes = "\n\n".join(
        [
            f"Settings: {settings}." + (" **A `--quick` run** (fewer bootstraps)." if args.quick else ""),
            f"{embedding} {layout}",
            f"CIs: 95 % percentile bootstrap over patients ({n_bootstraps} replicates). X-ray scores "
            "are inflated by the source shortcut (most non-COVID X-rays are paediatric) and CT scores "
            "are optimistic (neighbouring slices can sit on both sides of the split): see the data README.",
            f"Paired tests of `{MAIN}` against each model (DeLong on the scores, McNemar on the "
            "predictions; Holm-adjusted within each test over all models and groups; "
            "`auc_diff` = AUC of `mtl_adversarial` minus AUC of `model_b`):",
            markdown_table(test_rows, test_columns),
            "Modality probe of the shared features on the Test rows (`probe_modality`: a fresh "
            "standardised MLP, 5 patient-grouped folds; chance = knows nothing of the modality; "
            "`*_ci`: 95 % bootstrap interval over Test patients of the out-of-fold predictions; "
            "`hgb_balanced_accuracy`: the same folds with a HistGradientBoostingClassifier as the "
            "probe). The first two rows probe the shared branch's input: the embeddings, and the "
            "embeddings standardised per modality with the training statistics, as the shared "
            "encoder reads them:",
            markdown_table(probes),
            "Verdict (DeLong, Holm-adjusted p < 0.05):\n\n" + "\n".join(f"- {line}" for line in verdict),
            *([
                f"Spread over random states: `{MAIN}` refitted with random_state "
                f"{args.random_state}..{args.random_state + args.spread} on the same features "
                "(initialisation, shuffling, folds and early-stopping splits change; the texture "
                "SVM is deterministic). The verdict above is one draw of these:",
                markdown_table(spread),
                "\n".join(f"- {line}" for line in zoo.spread_verdict(spread, MAIN)),
            ] if spread else []),
            f"Total wall time {total_seconds:.0f} s. Machine load (1/5/15-min load averages) before: "
            f"{load['before']}, after: {load['after']}; wall times are inflated when other processes "
            "share the cores.",
        ]
    ) + "\n"
    command = " ".join(["python benchmarks/bench_mtl.py", *argv])
    report(
        "bench_mtl",
        rows,
        columns=columns,
        command=command,
        notes=notes,
        meta={
            "settings": settings,
            "quick": args.quick,
            "metrics": table.to_dict(orient="records"),
            "paired_tests": test_rows,
            "modality_probe": probes,
            "verdicts": verdict,
            "spread": spread,
            "spread_verdicts": zoo.spread_verdict(spread, MAIN),
            "timings_s": {**timings, "total": total_seconds},
            "per_modality_layout": layout,
            "load_average": load,
        },
    )
    print(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
