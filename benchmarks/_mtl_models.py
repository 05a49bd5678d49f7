"""The models compared by bench_mtl.py, and the summaries it prints (private helper).

Every model reads a DataFrame of feature columns plus ``modality`` and ``patient``:

- the multi-task pipelines read the embedding frame (``emb_*``, and ``shared_emb_*`` for a
  joint embedding of a learning embedder);
- the baselines read the per-modality embedding columns only (``shared_emb_*`` dropped);
- ``texture_hgb`` reads the texture features (TextureEmbedder).
"""

from __future__ import annotations

import numpy as np

#: Feature columns of the baselines: everything but the passthrough and the joint-embedding
#: columns (the embedders name theirs ``emb_*``; TextureEmbedder names them ``tex_*``).
FEATURES = r"^(?!shared_emb_|modality$|patient$)"
SHARED_INPUT = "shared_emb_"


def task_columns(frame):
    """The frame without the joint-embedding columns (the per-modality layout)."""
    return frame.drop(columns=[c for c in frame.columns if str(c).startswith(SHARED_INPUT)])


def mtl_models(random_state, *, per_modality=False):
    """The multi-task pipelines at their defaults, on embeddings (``embedder=None``).

    ``mtl_per_modality`` (when asked) is ``mtl_adversarial`` fitted on the per-modality
    layout (``task_columns``): its shared branch then reads the per-modality embeddings.
    """
    from skcovid.multimodal import make_mtl_pipeline

    models = {
        "mtl_adversarial": make_mtl_pipeline(embedder=None, random_state=random_state),
        "mtl_minimax": make_mtl_pipeline(embedder=None, adversarial="minimax", random_state=random_state),
        "mtl": make_mtl_pipeline(embedder=None, adversarial=None, random_state=random_state),
        # the task features of both modalities in the same columns (the head must infer
        # which modality it reads) instead of one block per modality
        "mtl_stack_layout": make_mtl_pipeline(embedder=None, random_state=random_state).set_params(
            features__task__layout="stack"
        ),
    }
    if per_modality:
        models["mtl_per_modality"] = make_mtl_pipeline(embedder=None, random_state=random_state)
    return models


def baseline_models(random_state, modalities=("xray", "ct")):
    """``single_modality`` (the pipeline's own head, one per modality) and ``logistic_regression``."""
    from sklearn.base import clone
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skcovid.multimodal import ModalityRouter, make_mtl_pipeline

    head = make_mtl_pipeline(embedder=None, random_state=random_state).named_steps["head"]
    return {
        "single_modality": ModalityRouter({m: clone(head) for m in modalities}),
        "logistic_regression": make_pipeline(
            make_column_transformer((StandardScaler(), make_column_selector(pattern=FEATURES))),
            LogisticRegression(max_iter=2000),
        ),
    }


def texture_baseline(random_state, modalities=("xray", "ct")):
    """The classical baselines on texture features, one model per modality.

    ``texture_hgb``: HistGradientBoostingClassifier; ``texture_svm``: standardisation and an
    RBF support vector machine at scikit-learn's defaults, with probabilities calibrated
    by internal cross-validation (the strongest classical model we know of on these
    features).
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from skcovid.multimodal import ModalityRouter

    def on_texture(scaler, model):
        return make_pipeline(make_column_transformer((scaler, make_column_selector(pattern=FEATURES))), model)

    hgb = on_texture("passthrough", HistGradientBoostingClassifier(random_state=random_state))
    svm = on_texture(StandardScaler(), CalibratedClassifierCV(SVC(random_state=random_state), ensemble=False))
    return {
        "texture_hgb": ModalityRouter({m: hgb for m in modalities}),
        "texture_svm": ModalityRouter({m: svm for m in modalities}),
    }


def score_rows(table, results):
    """One row per (model, group): ROC AUC and accuracy with their CIs, and the fit time."""
    rows = []
    for (name, group), block in table.groupby(["model", "group"], sort=False):
        row = {"model": name, "modality": group, "n": int(block["n"].iloc[0])}
        for metric in block.itertuples():
            row[metric.metric] = round(float(metric.value), 3)
            row[f"{metric.metric}_ci"] = f"[{metric.ci_low:.3f}, {metric.ci_high:.3f}]"
        row["fit_s"] = round(results[name]["fit_seconds"], 1)
        rows.append(row)
    return rows


def _probe_row(name, features, modality, patients, random_state):
    """One probe row: the default probe (with intervals) and a gradient-boosting probe."""
    import time

    from sklearn.ensemble import HistGradientBoostingClassifier

    from skcovid.multimodal import probe_modality

    start = time.perf_counter()
    probe = probe_modality(features, modality, groups=patients, random_state=random_state)
    boosted = probe_modality(features, modality, groups=patients, n_bootstraps=0, random_state=random_state,
                             estimator=HistGradientBoostingClassifier(random_state=random_state))
    return {
        "model": name,
        "n": probe.n_samples,
        "balanced_accuracy": round(probe.balanced_accuracy, 3),
        "balanced_accuracy_ci": [round(v, 3) for v in probe.balanced_accuracy_ci],
        "chance_balanced_accuracy": round(probe.chance_balanced_accuracy, 3),
        "roc_auc": round(probe.roc_auc, 3),
        "roc_auc_ci": [round(v, 3) for v in probe.roc_auc_ci],
        "chance_roc_auc": round(probe.chance_roc_auc, 3),
        "hgb_balanced_accuracy": round(boosted.balanced_accuracy, 3),
        "probe_s": round(time.perf_counter() - start, 1),
    }


def probe_rows(results, test_frames, *, random_state):
    """Modality probe of each multi-task model's shared features on its test frame, after two
    rows for the shared branch's input: the embeddings as they are, and standardised per
    modality with the training statistics (``scaler_``) as the shared encoder reads them."""
    import numpy as np

    rows = []
    for name, result in results.items():
        features = getattr(result["estimator"], "named_steps", {}).get("features")
        if features is None:
            continue
        frame = test_frames[name]  # the columns the shared branch read in fit (shared_emb_* if any)
        shared_ = features.shared_
        modality, patients = frame["modality"].to_numpy(), frame["patient"].to_numpy()
        if not rows:
            inputs = frame[list(shared_.feature_names_in_)].to_numpy(np.float32)
            scaled = np.full_like(inputs, np.nan)  # a modality without statistics: NaN, refused
            for key, (mean, std) in shared_.scaler_.items():
                at = np.ones(len(inputs), bool) if key == "all" else modality == key
                scaled[at] = (inputs[at] - mean) / std
            rows.append(_probe_row("input: embeddings", inputs, modality, patients, random_state))
            rows.append(_probe_row("input: standardised per modality", scaled, modality, patients,
                                   random_state))
        columns = [*shared_.feature_names_in_, *(c for c in ("modality", "patient") if c in frame)]
        shared = shared_.transform(frame[columns])
        rows.append(_probe_row(name, shared, modality, patients, random_state))
    return rows


def verdicts(rows, tests, main, *, alpha=0.05):
    """One plain-language line per group: ``main`` against the best other model (DeLong, Holm)."""
    lines = []
    for group in dict.fromkeys(r["modality"] for r in rows):
        scores = {r["model"]: r["roc_auc"] for r in rows if r["modality"] == group}
        others = {k: v for k, v in scores.items() if k != main and np.isfinite(v)}
        if main not in scores or not others:
            continue
        best = max(others, key=others.get)
        test = tests[(tests["model_b"] == best) & (tests["group"] == group)]
        pvalue = float(test["delong_pvalue_holm"].iloc[0]) if len(test) else float("nan")
        diff = float(test["auc_diff"].iloc[0]) if len(test) else float("nan")
        if not np.isfinite(pvalue):
            word = "could not be compared (DeLong undefined) with"
        elif pvalue >= alpha:
            word = "is not significantly different from"
        else:
            word = "is significantly better than" if diff > 0 else "is significantly worse than"
        significant = tests[(tests["group"] == group) & (tests["delong_pvalue_holm"] < alpha)]
        better = significant.loc[significant["auc_diff"] > 0, "model_b"].tolist()
        worse = significant.loc[significant["auc_diff"] < 0, "model_b"].tolist()
        lines.append(
            f"**{group}**: `{main}` (AUC {scores[main]:.3f}) {word} the best other model, "
            f"`{best}` (AUC {scores[best]:.3f}; AUC difference {diff:+.3f}, DeLong p = "
            f"{pvalue:.3g} after Holm). Significantly better than: {', '.join(better) or 'none'}; "
            f"significantly worse than: {', '.join(worse) or 'none'}."
        )
    return lines


def spread_rows(results, extra, y_test, modality, *, main, references=("texture_svm",)):
    """ROC AUC of ``main`` over random states, per group, beside fixed reference models.

    ``results[main]`` is the main run; ``extra`` maps each further random state to its
    ``fit_models`` result of the same pipeline. A single random state can flatter or
    understate a network (its initialisation, shuffling and early-stopping split); the
    references (texture models, deterministic) are scored once.
    """
    from sklearn.metrics import roc_auc_score

    def auc(result, rows):
        positive = list(result["classes"]).index("COVID")
        return float(roc_auc_score(y_test[rows] == "COVID", result["proba"][rows, positive]))

    runs = [results[main], *extra.values()]
    rows = []
    for group in ("xray", "ct", "all"):
        mask = np.ones(len(y_test), bool) if group == "all" else np.asarray(modality) == group
        aucs = np.array([auc(run, mask) for run in runs])
        row = {"modality": group, "n_random_states": len(runs), "roc_auc_mean": round(float(aucs.mean()), 3),
               "roc_auc_sd": round(float(aucs.std(ddof=1)), 3) if len(aucs) > 1 else float("nan"),
               "roc_auc_min": round(float(aucs.min()), 3), "roc_auc_max": round(float(aucs.max()), 3),
               "roc_auc_each": [round(float(a), 3) for a in aucs]}
        row.update({f"{name}_roc_auc": round(auc(results[name], mask), 3) for name in references
                    if name in results})
        rows.append(row)
    return rows


def spread_verdict(spread, main, reference="texture_svm"):
    """One plain line per group: ``main``'s AUC over random states against ``reference``'s."""
    lines = []
    for row in spread:
        ref = row.get(f"{reference}_roc_auc")
        if ref is None:
            continue
        mean, low, high = row["roc_auc_mean"], row["roc_auc_min"], row["roc_auc_max"]
        side = "above" if mean > ref else "below" if mean < ref else "level with"
        if low > ref or high < ref:
            tail = f"every random state is {'above' if low > ref else 'below'} it"
        else:
            tail = "the random states fall on both sides of it"
        lines.append(
            f"**{row['modality']}**: over {row['n_random_states']} random states `{main}` scores AUC "
            f"{low:.3f}-{high:.3f} (mean {mean:.3f}, {side} `{reference}`'s {ref:.3f}); {tail}."
        )
    return lines
