"""Comparing the multi-modal system with baselines on held-out scans.

Used by ``skcovid demo`` and ``benchmarks/bench_mtl.py``: the images are embedded once,
and every compared model is fitted on the same training embeddings and scored on the same
test embeddings, so that paired tests (McNemar on the predictions, DeLong on the scores)
compare models on identical scans.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

MAIN = "mtl_adversarial"
#: The embedding columns the baselines read: not the joint ``shared_emb_*`` ones, not passthrough.
EMBEDDING_COLUMNS = r"^(?!shared_emb_|modality$|patient$)"
METRICS = ("accuracy", "sensitivity", "specificity", "roc_auc")
TEST_COLUMNS = (
    "model_b",
    "group",
    "n",
    "mcnemar_pvalue",
    "mcnemar_pvalue_holm",
    "auc_diff",
    "delong_pvalue",
    "delong_pvalue_holm",
)


def comparison_models(
    *, modalities=("xray", "ct"), adversarial="gradient_reversal", random_state=None, **mtl
):
    """The compared models, all reading a DataFrame of embeddings (feature columns, modality, patient).

    - ``mtl_adversarial``: the multi-task system (:func:`make_mtl_pipeline` at its defaults,
      ``embedder=None``; ``mtl`` overrides them, e.g. ``max_epochs``);
    - ``mtl``: the same without adversarial training;
    - ``single_modality``: one :class:`ClassifierHead` per modality on the embeddings;
    - ``logistic_regression``: standardised embeddings, logistic regression (both modalities).
    """
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ._pipeline import make_mtl_pipeline
    from ._router import ModalityRouter

    mtl = dict(embedder=None, modalities=tuple(modalities), random_state=random_state, **mtl)
    main = make_mtl_pipeline(adversarial=adversarial, **mtl)
    head = main.named_steps["head"]  # the same head as the system's, on the embeddings
    embeddings = make_column_selector(pattern=EMBEDDING_COLUMNS)
    return {
        MAIN: main,
        "mtl": make_mtl_pipeline(adversarial=None, **mtl),
        "single_modality": ModalityRouter(
            {m: make_pipeline(make_column_transformer(("passthrough", embeddings)), head) for m in modalities}
        ),
        "logistic_regression": make_pipeline(
            make_column_transformer((StandardScaler(), embeddings)),
            LogisticRegression(max_iter=2000),
        ),
    }


def fit_models(models, X_train, y_train, X_test, *, progress=None, num_threads=None):
    """Fit each model, score the test rows; returns ``{name: {estimator, proba, pred, fit_seconds}}``.

    ``num_threads`` sets torch's CPU threads meanwhile (small MLPs train faster on one
    thread, especially on a shared machine); None leaves it alone.
    """
    import torch

    results = {}
    threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        for name, model in models.items():
            if progress is not None:
                progress.set_postfix_str(name)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            proba = np.asarray(model.predict_proba(X_test))
            classes = np.asarray(model.classes_)
            results[name] = {
                "estimator": model,
                "proba": proba,
                "classes": classes,
                "pred": classes[np.argmax(proba, axis=1)],
                "fit_seconds": seconds,
            }
            if progress is not None:
                progress.update(1)
    finally:
        torch.set_num_threads(threads)
    return results


def two_of_each(y):
    """Whether ``y`` has two classes with at least two samples each (DeLong's minimum)."""
    values, counts = np.unique(np.asarray(y), return_counts=True)
    return len(values) == 2 and counts.min() >= 2


def positive_scores(result, pos_label):
    """The positive-class column of a result's probabilities."""
    return result["proba"][:, list(result["classes"]).index(pos_label)]


def evaluation_table(
    y_true, results, modality, patients, *, pos_label="COVID", n_bootstraps=2000, random_state=None
):
    """Accuracy, sensitivity, specificity and ROC AUC with 95 % bootstrap CIs, per modality and overall.

    The bootstrap resamples patients (``clinical_report`` with ``groups``). Returns a tidy
    DataFrame: ``model``, ``group``, ``metric``, ``value``, ``ci_low``, ``ci_high``, ``n``.
    """
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning

    from ..metrics import clinical_report

    y_true = np.asarray(y_true)
    frames = []
    for name, result in results.items():
        score = positive_scores(result, pos_label)
        for by in (np.asarray(modality), None):
            with warnings.catch_warnings():  # undefined metrics (one class in a group) are NaN in the table
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                report = clinical_report(
                    y_true,
                    score,
                    result["pred"],
                    pos_label=pos_label,
                    groups=patients,
                    by=by,
                    n_bootstraps=n_bootstraps,
                    random_state=random_state,
                )
            frames.append(report.assign(model=name))
    table = pd.concat(frames, ignore_index=True)
    table = table[table["metric"].isin(METRICS)]
    table["group"] = table["group"].astype(str)
    return table[["model", "group", "metric", "value", "ci_low", "ci_high", "n"]].reset_index(drop=True)


def paired_tests(y_true, results, modality, *, reference=MAIN, pos_label="COVID"):
    """McNemar (predictions) and DeLong (scores) tests of ``reference`` against every other model.

    Per modality and overall; ``*_pvalue_holm`` are Holm-adjusted within each test family.
    """
    from ..stats import adjust_pvalues, delong_test, mcnemar_test

    y_true, modality = np.asarray(y_true), np.asarray(modality)
    rows = []
    groups = [(str(m), modality == m) for m in np.unique(modality)] + [("all", np.ones(len(y_true), bool))]
    ref = results[reference]
    for name, other in results.items():
        if name == reference:
            continue
        for group, rows_mask in groups:
            truth = y_true[rows_mask]
            mcnemar = mcnemar_test(truth, ref["pred"][rows_mask], other["pred"][rows_mask])
            row = {
                "model_a": reference,
                "model_b": name,
                "group": group,
                "n": int(rows_mask.sum()),
                "mcnemar_statistic": float(mcnemar.statistic),
                "mcnemar_pvalue": float(mcnemar.pvalue),
            }
            if two_of_each(truth):
                delong = delong_test(
                    truth,
                    positive_scores(ref, pos_label)[rows_mask],
                    positive_scores(other, pos_label)[rows_mask],
                    pos_label=pos_label,
                )
                row.update(
                    auc_diff=delong.auc_diff, delong_statistic=delong.statistic, delong_pvalue=delong.pvalue
                )
            rows.append(row)
    table = pd.DataFrame(rows)
    for test in ("mcnemar", "delong"):
        column = f"{test}_pvalue"
        if column in table:
            valid = table[column].notna()
            table.loc[valid, f"{column}_holm"] = adjust_pvalues(
                table.loc[valid, column].to_numpy(), method="holm"
            )
    return table


def modality_leakage(results, X_test, *, random_state=None):
    """A fresh probe's out-of-fold modality scores on each model's shared features of ``X_test``.

    Returns ``{model: {"balanced_accuracy", "roc_auc", "chance_balanced_accuracy", "epochs"}}``
    for the models with a shared branch (see :func:`probe_modality`).
    """
    from ._probe import probe_modality

    leakage = {}
    for name, result in results.items():
        steps = getattr(result["estimator"], "named_steps", {})
        shared = getattr(steps.get("features"), "shared_", None)
        if shared is None:
            continue
        columns = list(shared.feature_names_in_) + [c for c in ("modality", "patient") if c in X_test]
        features = shared.transform(X_test[columns])
        groups = X_test["patient"] if "patient" in X_test else None
        probe = probe_modality(features, X_test["modality"], groups=groups, random_state=random_state)
        leakage[name] = {
            "balanced_accuracy": probe.balanced_accuracy,
            "roc_auc": probe.roc_auc,
            "chance_balanced_accuracy": probe.chance_balanced_accuracy,
            "epochs": int(shared.n_epochs_),
        }
    return leakage


def wide_table(table):
    """One row per (model, group); ``metric`` columns as ``value [ci_low, ci_high]`` strings."""
    text = table.assign(
        text=[
            f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else f"{v:.3f}"
            for v, lo, hi in zip(table["value"], table["ci_low"], table["ci_high"])
        ]
    )
    wide = text.pivot_table(index=["model", "group"], columns="metric", values="text", aggfunc="first")
    wide = wide.reindex(columns=[m for m in METRICS if m in wide.columns])
    order = {name: i for i, name in enumerate(dict.fromkeys(table["model"]))}
    return (
        wide.reset_index()
        .sort_values(["model", "group"], key=lambda s: s.map(order) if s.name == "model" else s)
        .reset_index(drop=True)
    )
