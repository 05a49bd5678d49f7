"""The from-scratch training recipe on the real scans: old vs new recipe, fp32 vs bf16, texture + CNN.

Run ``python benchmarks/bench_recipe.py --texture-cache DIR`` (defaults: ``scan_cnn`` at
128 px, 45 epochs, both modalities, 2 torch threads; a bf16 fit per modality only with
``--bf16-fit``; ``--backbone resnet18 --size 64 --epochs 3`` for the earlier setting).
Three parts, in one run:

1. **Quality.** ``ImageClassifier`` (``--backbone``, random initialisation, no downloads) trained
   on a modality's Train split and scored on its Test split (ROC AUC with a 95 % bootstrap
   interval, accuracy), with the *old* recipe (AdamW at a constant lr 1e-3, no
   augmentation, no label smoothing, last epoch kept) and the *new* one (per-modality
   augmentation ``augment="recipe"``, AdamW lr 3e-3 with weight decay 0.05, one-cycle schedule
   with half an epoch of warm-up, label smoothing 0.1), fp32 and optionally bf16. Both train
   on all the Train rows for all epochs and keep the last one: early stopping on a
   validation split of about 60 X-rays picked an early, worse epoch (test AUC 0.882 by
   validation AUC or loss, 0.919 for the last epoch).
   Beside them, per modality: the **texture** baseline (``TextureEmbedder`` features,
   standardised, an RBF SVM with calibrated probabilities) and **texture + CNN**, the mean of
   the two models' probabilities (what ``VotingClassifier(voting="soft")`` computes; the
   CNN is the new recipe's fp32 fit), and **texture ⊕ CNN features**: an ``EmbedderUnion`` of
   the texture features and a ``FineTunedEmbedder`` (same network, recipe and epochs, its
   pooled features) under the same scaler and SVM (one more CNN fit per modality; skipped
   with ``--no-union``).
   Paired DeLong tests on each modality's Test rows (patient-clustered, Holm-adjusted over
   the modality's comparisons): texture + CNN against texture and against the CNN, texture
   ⊕ CNN features against texture and against texture + CNN, the CNN against texture, the
   new recipe against the old.
2. **Speed.** Training images per second of the new recipe in fp32 and in bf16 (autocast
   + channels-last), from the duration of the second epoch (images then come from the
   in-memory cache, so decoding is out), the two precisions alternated ``--speed-repeats``
   times, medians compared.

On a CPU without bf16 instructions (no AVX-512 BF16 / AMX) torch emulates bf16 and the
ratio is below 1; ``precision="auto"`` then trains in fp32.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report  # noqa: E402
from bench_nets import real_split  # noqa: E402

from skcovid.nets import ImageClassifier  # noqa: E402
from skcovid.nets._recipe import bf16_supported  # noqa: E402

OLD = {"lr": 1e-3}
NEW = {"lr": 3e-3, "weight_decay": 0.05, "augment": "recipe", "lr_schedule": "onecycle", "warmup_epochs": 0.5,
       "label_smoothing": 0.1}


def model(recipe, *, backbone, size, epochs, **params):
    """``backbone`` from random weights with the ``recipe`` settings ("old" or "new"), trained on
    every training row for all ``epochs``, the last epoch kept."""
    settings = {"validation_fraction": None, "patience": None, **(OLD if recipe == "old" else NEW), **params}
    return ImageClassifier(backbone, weights=None, image_size=size, max_epochs=epochs, batch_size=32,
                           device="cpu", random_state=0, **settings)


def auc_interval(y_true, score, *, n_bootstraps=1000, random_state=0):
    """ROC AUC and its 95 % percentile-bootstrap interval (resampling scans)."""
    rng = np.random.default_rng(random_state)
    replicates = []
    for _ in range(n_bootstraps):
        rows = rng.integers(0, len(y_true), len(y_true))
        if len(np.unique(y_true[rows])) == 2:
            replicates.append(roc_auc_score(y_true[rows], score[rows]))
    low, high = np.percentile(replicates, [2.5, 97.5])
    return float(roc_auc_score(y_true, score)), float(low), float(high)


def texture_probabilities(X, y, X_test, cache, cnn=None):
    """Texture features (beside the ``cnn`` embedder's, if given) + standardisation + RBF SVM
    (calibrated): P(COVID) of the test rows."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from skcovid.embedders import EmbedderUnion, TextureEmbedder

    features = TextureEmbedder(cache=cache, n_jobs=-1)
    if cnn is not None:
        features = EmbedderUnion([("texture", features), ("cnn", cnn)])
    model = make_pipeline(features.set_output(transform="default"), StandardScaler(),
                          CalibratedClassifierCV(SVC(random_state=0), ensemble=False))
    model.fit(X, y)
    return model.predict_proba(X_test)[:, list(model.classes_).index("COVID")]


def cnn_embedder(*, backbone, size, epochs):
    """The new recipe's network as a ``FineTunedEmbedder`` (its pooled features, ``hidden=None``)."""
    from skcovid.embedders import FineTunedEmbedder

    return FineTunedEmbedder(backbone, weights=None, hidden=None, image_size=size, max_epochs=epochs,
                             batch_size=32, device="cpu", random_state=0, validation_fraction=None,
                             patience=None, **NEW)


def _score_row(modality, recipe, precision, setting, y_test, proba, seconds, **extra):
    auc, low, high = auc_interval((y_test == "COVID").astype(int), proba)
    predicted = np.where(proba >= 0.5, "COVID", "Non_COVID")
    return {"part": "quality", "modality": modality, "recipe": recipe, "precision": precision,
            "setting": setting, "test AUC": auc, "AUC 95% CI": f"{low:.3f}-{high:.3f}",
            "test accuracy": float(np.mean(predicted == y_test)), **extra, "train s": seconds}


#: The paired comparisons of each modality (first model against second), by row label.
COMPARISONS = [("texture + CNN", "texture"), ("texture + CNN", "new"), ("texture ⊕ CNN features", "texture"),
               ("texture ⊕ CNN features", "texture + CNN"), ("new", "texture"), ("new", "old")]


def delong_rows(modality, y_test, groups, scores):
    """Paired DeLong tests (patient-clustered, Holm over the modality's tests) of ``COMPARISONS``."""
    from skcovid.stats import adjust_pvalues, delong_test

    pairs = [(a, b) for a, b in COMPARISONS if a in scores and b in scores]
    tests = [delong_test(y_test == "COVID", scores[a], scores[b], groups=groups) for a, b in pairs]
    holm = adjust_pvalues([t.pvalue for t in tests]) if tests else []
    rows = [{"part": "delong", "modality": modality, "recipe": f"{a} vs {b}", "AUC diff": t.auc_diff,
             "diff 95% CI": f"{t.auc_diff_ci[0]:+.3f} to {t.auc_diff_ci[1]:+.3f}", "p (Holm)": float(p)}
            for (a, b), t, p in zip(pairs, tests, holm, strict=True)]
    for row in rows:
        print(f"delong: {row}", file=sys.stderr, flush=True)
    return rows


def quality_rows(modalities, *, backbone, size, epochs, max_train, precisions, recipes=("old", "new"),
                 texture_cache=None, union=True):
    rows = []
    for modality in modalities:
        X, y = real_split((modality,))
        if max_train and len(X) > max_train:
            keep = np.sort(np.random.default_rng(0).choice(len(X), max_train, replace=False))
            X, y = X.iloc[keep].reset_index(drop=True), y[keep]
        X_test, y_test = real_split((modality,), split="test")
        plan = [("old", "fp32")] * ("old" in recipes) + [("new", p) for p in precisions] * ("new" in recipes)
        setting = f"{len(X)} train rows, {backbone}, {epochs} epochs, {size}px"
        cnn, scores = None, {}
        for recipe, precision in plan:
            start = time.perf_counter()
            fitted = model(recipe, backbone=backbone, size=size, epochs=epochs, precision=precision).fit(X, y)
            seconds = time.perf_counter() - start
            proba = fitted.predict_proba(X_test)[:, list(fitted.classes_).index("COVID")]
            if precision == "fp32":
                scores[recipe] = proba
            if (recipe, precision) == ("new", "fp32"):
                cnn = (proba, seconds)
            rows.append(_score_row(modality, recipe, precision, setting, y_test, proba, seconds))
            print(f"quality: {rows[-1]}", file=sys.stderr, flush=True)
        if texture_cache is not None:
            n_rows = len(rows)
            start = time.perf_counter()
            texture = texture_probabilities(X, y, X_test, texture_cache)
            seconds = time.perf_counter() - start
            rows.append(_score_row(modality, "texture", "fp32", f"{len(X)} train rows, texture + SVM",
                                   y_test, texture, seconds))
            scores["texture"] = texture
            if cnn is not None:
                scores["texture + CNN"] = (texture + cnn[0]) / 2
                rows.append(_score_row(modality, "texture + CNN", "fp32", "mean of the two probabilities",
                                       y_test, scores["texture + CNN"], seconds + cnn[1]))
            if union:
                start = time.perf_counter()
                scores["texture ⊕ CNN features"] = texture_probabilities(
                    X, y, X_test, texture_cache, cnn_embedder(backbone=backbone, size=size, epochs=epochs))
                rows.append(_score_row(modality, "texture ⊕ CNN features", "fp32",
                                       "EmbedderUnion(texture, FineTunedEmbedder) + SVM", y_test,
                                       scores["texture ⊕ CNN features"], time.perf_counter() - start))
            for row in rows[n_rows:]:
                print(f"quality: {row}", file=sys.stderr, flush=True)
        rows += delong_rows(modality, y_test, X_test["patient"].to_numpy(), scores)
    return rows


def speed_rows(*, backbone, n_images, size, repeats):
    X, y = real_split(("xray", "ct"))
    keep = np.random.default_rng(1).choice(len(X), n_images, replace=False)
    X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    seconds = {"fp32": [], "bf16": []}
    for _ in range(repeats):
        for precision in seconds:
            fitted = model("new", backbone=backbone, size=size, epochs=2, precision=precision).fit(X, y)
            seconds[precision].append(fitted.history_[-1, "dur"])
    rate = {p: n_images / statistics.median(s) for p, s in seconds.items()}
    row = {"part": "speed", "setting": f"{n_images} images, {size}px, median of {repeats}",
           "fp32 img/s": rate["fp32"], "bf16 img/s": rate["bf16"], "bf16/fp32": rate["bf16"] / rate["fp32"],
           "native bf16": bf16_supported("cpu")}
    print(f"speed: {row}", file=sys.stderr, flush=True)
    return [row]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--backbone", default="scan_cnn", help="ImageClassifier backbone")
    parser.add_argument("--size", type=int, default=128, help="pixels")
    parser.add_argument("--epochs", type=int, default=45)
    parser.add_argument("--recipes", nargs="+", default=["old", "new"], choices=["old", "new"])
    parser.add_argument("--texture-cache", default=None,
                        help="texture feature cache folder; the texture rows run only when it is given")
    parser.add_argument("--no-union", action="store_true",
                        help="skip the texture + CNN-features SVM (one more CNN fit per modality)")
    parser.add_argument("--modalities", nargs="+", default=["xray", "ct"])
    parser.add_argument("--max-train", type=int, default=0, help="subsample the training rows (0: all)")
    parser.add_argument("--bf16-fit", action="store_true", help="also train (and score) a bf16 model")
    parser.add_argument("--speed-images", type=int, default=64)
    parser.add_argument("--speed-repeats", type=int, default=3)
    parser.add_argument("--no-report", action="store_true", help="print rows, do not write results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = speed_rows(backbone=args.backbone, n_images=args.speed_images, size=args.size,
                      repeats=args.speed_repeats)
    rows += quality_rows(args.modalities, backbone=args.backbone, size=args.size, epochs=args.epochs,
                         max_train=args.max_train, precisions=["fp32", "bf16"] if args.bf16_fit else ["fp32"],
                         recipes=args.recipes, texture_cache=args.texture_cache, union=not args.no_union)
    if not args.no_report:
        report(
            "bench_recipe", rows,
            command="python benchmarks/bench_recipe.py " + " ".join(argv or sys.argv[1:]),
            meta={"old": OLD, "new": NEW, **vars(args)},
            columns=["part", "modality", "recipe", "precision", "setting", "test AUC", "AUC 95% CI",
                     "test accuracy", "train s", "AUC diff", "diff 95% CI", "p (Holm)", "fp32 img/s",
                     "bf16 img/s", "bf16/fp32", "native bf16"],
            notes=(
                "Random initialisation, Test split used only for scoring; both recipes train on every "
                "training row and keep the last epoch (the one-cycle schedule ends at a learning rate of 0). "
                "'texture': TextureEmbedder at its defaults, standardised, RBF SVM with calibrated "
                "probabilities; 'texture + CNN': the mean of its probabilities and the new-recipe CNN's "
                "(equal weights, not tuned), 'train s' the sum of both fits; 'texture ⊕ CNN features': the "
                "texture features and the pooled features of the same network trained by the new recipe "
                "(FineTunedEmbedder, its own fit) side by side, standardised, RBF SVM. 'delong': paired "
                "test of the two models' AUCs (patient-clustered), 'diff 95% CI' unadjusted, 'p (Holm)' "
                "adjusted over the modality's six tests. bf16/fp32: training "
                "images/s, second epoch (cached images), same run. Wall times are inflated when other "
                "processes share the cores; compare ratios measured in the same run. X-ray scores are "
                "inflated by the source shortcut described in the data README; CT scores are "
                "optimistic (slices of one scan may sit on both sides)."
            ),
        )
    return rows


if __name__ == "__main__":
    main()
