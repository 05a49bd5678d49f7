"""``clinical_report``: the clinical metrics with confidence intervals."""

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils import check_random_state

from ..utils._param_validation import RANDOM_STATE, Interval, Options, validate_params
from ._patients import AGGREGATES, aggregate_patients
from ._proportion import CI_METHODS, PROPORTIONS, denominators, proportion_interval
from ._resampling import bootstrap_weights, group_codes, percentile_interval
from ._validation import check_labels, check_same_length, check_scores, plain, resolve_pos_label
from ._weighted import BINARY_METRICS, SCORE_METRICS, ScoreBins, binary_metrics, safe_ratio

COLUMNS = ["group", "class", "metric", "value", "ci_low", "ci_high", "n", "n_boot", "ci_method"]
_OVR_METRICS = ("sensitivity", "specificity", "ppv", "npv", "f1", "roc_auc", "pr_auc")


def _is_probability(score):
    return score is not None and score.min() >= 0 and score.max() <= 1


def _binary_evaluator(is_pos, pred_pos, score, pos_label):
    """Return ``f(weights) -> {(class, metric): values}`` for a binary problem."""
    bins = None if score is None else ScoreBins(is_pos, score)
    squared_error = (score - is_pos) ** 2 if _is_probability(score) else None
    metrics = tuple(
        m for m in BINARY_METRICS
        if m not in SCORE_METRICS or (bins is not None and (m != "brier" or squared_error is not None))
    )

    def evaluate(weights):
        values = binary_metrics(weights, is_pos, pred_pos, bins=bins,
                                squared_error=squared_error, metrics=metrics)
        return {(pos_label, name): v for name, v in values.items()}

    evaluate.denominators = {
        (pos_label, name): n for name, n in denominators(is_pos, pred_pos).items()
    }
    return evaluate


def _multiclass_mcc(confusion):
    """Matthews correlation of each (k, k) confusion matrix in ``confusion``."""
    t_sum, p_sum = confusion.sum(axis=2), confusion.sum(axis=1)
    n = t_sum.sum(axis=1)
    correct = np.trace(confusion, axis1=1, axis2=2)
    cov_tp = correct * n - np.sum(t_sum * p_sum, axis=1)
    cov_pp = n**2 - np.sum(p_sum**2, axis=1)
    cov_tt = n**2 - np.sum(t_sum**2, axis=1)
    mcc = np.divide(cov_tp, np.sqrt(cov_tt * cov_pp), out=np.zeros_like(n),
                    where=cov_tt * cov_pp > 0)
    return np.where(cov_tt > 0, mcc, np.nan)  # one true class only: undefined


def _multiclass_evaluator(y, pred, score, classes):
    """Per class one-vs-rest metrics, their macro/weighted means and overall metrics."""
    k = len(classes)
    true_onehot = np.eye(k)[y]
    pair_onehot = np.eye(k * k)[y * k + pred]
    per_class = [
        (c, y == i, pred == i, None if score is None else ScoreBins(y == i, score[:, i]))
        for i, c in enumerate(classes)
    ]
    metrics = _OVR_METRICS if score is not None else _OVR_METRICS[:5]
    brier_terms = ((score - true_onehot) ** 2).sum(axis=1) if _is_probability(score) else None

    def evaluate(weights):
        out, stacked = {}, {m: [] for m in metrics}
        for label, y_c, pred_c, bins in per_class:
            for name, v in binary_metrics(weights, y_c, pred_c, bins=bins, metrics=metrics).items():
                out[(label, name)] = v
                stacked[name].append(v)
        support = weights @ true_onehot
        stacked = {name: np.column_stack(columns) for name, columns in stacked.items()}
        for name, values in stacked.items():
            out[("macro", name)] = values.mean(axis=1)
        for name, values in stacked.items():
            contrib = np.where(support > 0, support * values, 0.0)
            out[("weighted", name)] = safe_ratio(contrib.sum(axis=1), support.sum(axis=1))
        total = weights.sum(axis=1)
        confusion = (weights @ pair_onehot).reshape(-1, k, k)
        recall = stacked["sensitivity"]
        present = ~np.isnan(recall)
        out[("overall", "accuracy")] = safe_ratio(np.trace(confusion, axis1=1, axis2=2), total)
        out[("overall", "balanced_accuracy")] = safe_ratio(
            np.where(present, recall, 0).sum(axis=1), present.sum(axis=1)
        )
        out[("overall", "mcc")] = _multiclass_mcc(confusion)
        if brier_terms is not None:
            out[("overall", "brier")] = safe_ratio(weights @ brier_terms, total)
        return out

    evaluate.denominators = {("overall", "accuracy"): len(y)}
    for label, y_c, pred_c, _ in per_class:
        evaluate.denominators.update({
            (label, name): n for name, n in denominators(y_c, pred_c).items() if name != "accuracy"
        })
    return evaluate


def _classes(y_true, y_pred, labels):
    """The classes: ``labels`` (checked against the data) or the sorted labels seen."""
    labelled = y_true if y_pred is None else np.concatenate([y_true, y_pred])
    if labels is None:
        return np.unique(labelled)
    classes = check_labels(labels, "labels")
    if len(np.unique(classes)) != len(classes) or len(classes) < 2:
        raise ValueError(
            f"labels must list at least two distinct classes; got {classes.tolist()}."
        )
    unknown = np.setdiff1d(np.unique(labelled), classes)
    if unknown.size:
        raise ValueError(
            f"y_true or y_pred contain {[plain(v) for v in unknown[:6]]}, which are not in "
            f"labels={classes.tolist()}; add them to labels (in the column order of y_score)."
        )
    return classes


def _prepare(y_true, y_score, y_pred, pos_label, threshold, labels=None):
    """Return ``make_evaluator``: ``make_evaluator(rows)`` evaluates those rows."""
    classes = _classes(y_true, y_pred, labels)
    n_columns = None if y_score is None or y_score.ndim == 1 else y_score.shape[1]
    if len(np.unique(y_true)) < 2:
        raise ValueError(
            f"y_true contains only one class ({classes.tolist()}); a clinical report needs "
            "positive and negative samples."
        )
    if n_columns is not None and n_columns != len(classes):
        raise ValueError(
            f"y_score has {n_columns} columns but the labels have {len(classes)} classes "
            f"{classes.tolist()[:6]}; its columns must match the sorted classes, as "
            "predict_proba returns them."
        )
    if len(classes) == 2 and n_columns in (None, 2):
        pos_label = resolve_pos_label(y_true, pos_label)
        score = y_score
        if n_columns == 2:
            score = y_score[:, classes.tolist().index(pos_label)]
        is_pos = y_true == pos_label
        pred_pos = score >= threshold if y_pred is None else y_pred == pos_label
        return lambda idx: _binary_evaluator(
            is_pos[idx], pred_pos[idx], None if score is None else score[idx], pos_label
        )
    if y_score is not None and n_columns is None:
        raise ValueError(
            f"y_true has {len(classes)} classes but y_score is 1-D; pass one score column "
            "per class (predict_proba(X)) for a multiclass report."
        )
    position = pd.Index(classes)
    y = position.get_indexer(y_true)
    pred = np.argmax(y_score, axis=1) if y_pred is None else position.get_indexer(y_pred)
    return lambda idx: _multiclass_evaluator(
        y[idx], pred[idx], None if y_score is None else y_score[idx], classes
    )


def _block_frame(evaluate, codes, *, group, ci, ci_method, n_bootstraps, random_state):
    n = len(codes)
    point = evaluate(np.ones((1, n)))
    keys = list(point)
    values = np.array([point[key][0] for key in keys])
    methods = np.full(len(keys), "bootstrap" if ci is not None else "none", dtype=object)
    if ci is None:
        low = high = np.full(len(keys), np.nan)
        n_boot = np.zeros(len(keys), dtype=int)
    else:
        replicates = np.vstack([
            np.column_stack([chunk[key] for key in keys])
            for chunk in map(evaluate, bootstrap_weights(codes, n_bootstraps, random_state))
        ])
        low, high, n_boot = percentile_interval(replicates, ci)
        if ci_method != "bootstrap":
            for i, key in enumerate(keys):
                if key[1] in PROPORTIONS and key in evaluate.denominators:
                    low[i], high[i] = proportion_interval(values[i], evaluate.denominators[key],
                                                          ci, ci_method)
                    n_boot[i], methods[i] = 0, ci_method
    if np.isnan(values).any():
        undefined = [f"{c}/{m}" for (c, m), v in zip(keys, values) if np.isnan(v)]
        warnings.warn(
            f"In group {plain(group)!r} these metrics are undefined (a class is missing or "
            f"nothing is predicted for it) and are NaN: {', '.join(undefined)}.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
    return pd.DataFrame({
        "group": group,
        "class": [key[0] for key in keys],
        "metric": [key[1] for key in keys],
        "value": values,
        "ci_low": low,
        "ci_high": high,
        "n": n,
        "n_boot": n_boot,
        "ci_method": methods,
    })


class ClinicalReport(pd.DataFrame):
    """The table :func:`clinical_report` returns: a DataFrame printed rounded.

    Values keep full precision; only the printout shows 3 decimals.
    """

    @property
    def _constructor(self):
        return ClinicalReport

    def __repr__(self):
        with pd.option_context("display.precision", 3):
            return super().__repr__()

    def _repr_html_(self):
        with pd.option_context("display.precision", 3):
            return super()._repr_html_()


@validate_params({
    "threshold": [Interval(Real, None, None)],
    "ci": [Interval(Real, 0, 1, closed="neither"), None],
    "ci_method": [Options(*CI_METHODS)],
    "aggregate": [Options(*AGGREGATES), None],
    "n_bootstraps": [Interval(Integral, 1, None)],
    "random_state": [RANDOM_STATE, None],
})
def clinical_report(y_true, y_score=None, y_pred=None, *, pos_label=None, labels=None,
                    threshold=0.5, groups=None, aggregate=None, by=None, ci=0.95,
                    ci_method="bootstrap", n_bootstraps=2000, random_state=None):
    """Clinical metrics with confidence intervals, as a tidy table.

    Reports accuracy, balanced accuracy, sensitivity, specificity, PPV, NPV, F1, MCC,
    ROC AUC, PR AUC (average precision) and the Brier score. Metrics on labels use
    ``y_pred`` when given, else ``y_score >= threshold`` (binary) or the arg-max column
    (multiclass). ROC AUC and PR AUC need ``y_score``; the Brier score needs ``y_score``
    to be probabilities (within [0, 1]). Metrics that cannot be computed are left out.

    All replicates are evaluated at once (bootstrap counts act as sample weights), so
    2000 replicates of a few thousand samples take well under a second.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (numbers, booleans or strings such as ``"COVID"``).
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
        Scores of the positive class (binary), or one column per sorted class (as
        returned by ``predict_proba``; two columns are read as binary).
    y_pred : array-like of shape (n_samples,), default=None
        Predicted labels. At least one of ``y_score`` and ``y_pred`` is required.
    pos_label : int, float, bool or str, default=None
        The positive class of a binary problem. Inferred as 1 (``True``) for labels
        in {0, 1}, {-1, 1} or booleans; required otherwise, e.g. ``pos_label="COVID"``.
    labels : array-like, default=None
        All the classes, in the column order of ``y_score`` (e.g. ``model.classes_``).
        Needed when a class is missing from this data (a small test set, one ``by``
        block) but has a score column; its one-vs-rest metrics are then NaN. By
        default the sorted labels seen in ``y_true`` and ``y_pred``.
    threshold : float, default=0.5
        Binary decision threshold on ``y_score`` when ``y_pred`` is None.
    groups : array-like of shape (n_samples,), default=None
        Patient (cluster) id of each sample. When given, the bootstrap draws patients
        with replacement and takes all their scans (cluster bootstrap), so correlated
        scans of one patient do not shrink the intervals.
    aggregate : {"mean", "max"} or None, default=None
        Report per patient instead of per scan: the scans of each patient (``groups``,
        required) become one row whose score is the mean or the maximum of the scans'
        scores (column by column for ``predict_proba`` output), thresholded as usual.
        ``"max"`` calls a patient positive when any scan looks positive (more
        sensitive), ``"mean"`` averages the evidence. Every scan of a patient must
        carry the same label; needs ``y_score`` (not ``y_pred``). With ``by``, a
        patient gets one row per ``by`` value. Column ``n`` then counts patients.
    by : array-like of shape (n_samples,), default=None
        Stratifying variable (e.g. ``X["modality"]``): one block of rows per value,
        each bootstrapped on its own. Without it the single block is named ``"all"``.
    ci : float in (0, 1) or None, default=0.95
        Confidence level; None skips the bootstrap (``ci_low``/``ci_high`` are NaN).
    ci_method : {"bootstrap", "wilson", "clopper_pearson"}, default="bootstrap"
        Interval of the metrics that are proportions (accuracy, sensitivity,
        specificity, PPV, NPV): the percentile bootstrap, Wilson's score interval, or
        the Clopper-Pearson (exact binomial) interval. The other metrics always use the
        bootstrap; column ``ci_method`` tells which rows use which. Prefer Wilson or
        Clopper-Pearson for small counts and values near 0 or 1, where the bootstrap
        collapses (sensitivity 20/20 gives a bootstrap interval of (1.0, 1.0), Wilson
        (0.839, 1.0)). They assume independent samples, so with ``groups`` they need
        ``aggregate`` (one row per patient).
    n_bootstraps : int, default=2000
        Number of bootstrap replicates.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap.

    Returns
    -------
    report : pandas.DataFrame
        One row per (group, class, metric) with columns ``group``, ``class`` (the
        positive label for a binary problem; each class one-vs-rest, ``"macro"``,
        ``"weighted"`` and ``"overall"`` for a multiclass one), ``metric``, ``value``,
        ``ci_low``, ``ci_high``, ``n`` (samples in the group) and ``n_boot`` (replicates
        where the metric was defined: replicates with one class only are dropped for
        the metrics that need both; 0 for an analytic interval) and ``ci_method``
        (``"bootstrap"``, ``"wilson"``, ``"clopper_pearson"``, or ``"none"`` when
        ``ci=None``). A :class:`ClinicalReport`: a DataFrame printed with 3 decimals.

    See Also
    --------
    youden_threshold : choose the decision threshold.
    skcovid.stats.delong_test : compare the ROC AUCs of two models.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.metrics import clinical_report
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=200)
    >>> score = np.clip(0.3 * y + 0.7 * rng.rand(200), 0, 1)
    >>> report = clinical_report(y, score, n_bootstraps=200, random_state=0)
    >>> report.columns.tolist()
    ['group', 'class', 'metric', 'value', 'ci_low', 'ci_high', 'n', 'n_boot', 'ci_method']
    >>> report.set_index("metric").loc[["sensitivity", "roc_auc"],
    ...                                ["value", "ci_low", "ci_high"]].round(2)
                 value  ci_low  ci_high
    metric
    sensitivity   0.72    0.65     0.82
    roc_auc       0.83    0.77     0.88
    """
    y_true = check_labels(y_true, "y_true")
    if y_score is None and y_pred is None:
        raise ValueError("Pass y_score (probabilities or scores), y_pred (labels), or both.")
    y_score = None if y_score is None else check_scores(y_score, "y_score", allow_2d=True)
    y_pred = None if y_pred is None else check_labels(y_pred, "y_pred")
    by = None if by is None else check_labels(by, "by")
    check_same_length(y_true=y_true, y_score=y_score, y_pred=y_pred, groups=groups, by=by)
    if aggregate is not None:
        if groups is None or y_score is None or y_pred is not None:
            raise ValueError(
                f"aggregate={aggregate!r} combines the scores of each patient's scans: pass "
                "groups (patient ids) and y_score, and no y_pred."
            )
        y_true, y_score, groups, by = aggregate_patients(y_true, y_score, groups, by, aggregate)
    elif groups is not None and ci is not None and ci_method != "bootstrap":
        raise ValueError(
            f"ci_method={ci_method!r} assumes independent samples, but groups says several "
            "scans come from one patient. Use ci_method='bootstrap' (it resamples patients), "
            "or aggregate='mean' / 'max' for one row per patient."
        )
    codes = group_codes(groups, len(y_true))
    make_evaluator = _prepare(y_true, y_score, y_pred, pos_label, threshold, labels)
    rng = check_random_state(random_state)
    blocks = [("all", np.arange(len(y_true)))] if by is None else [
        (value, np.flatnonzero(by == value)) for value in np.unique(by)
    ]
    frames = [
        _block_frame(make_evaluator(idx), np.unique(codes[idx], return_inverse=True)[1],
                     group=name, ci=ci, ci_method=ci_method, n_bootstraps=n_bootstraps,
                     random_state=rng)
        for name, idx in blocks
    ]
    return ClinicalReport(pd.concat(frames, ignore_index=True)[COLUMNS])
