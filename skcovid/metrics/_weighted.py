"""Binary metrics for many sample-weight vectors at once.

Each function takes ``weights`` of shape (n_replicates, n_samples) -- a row of ones for
the point estimate, bootstrap counts for the replicates -- and returns one value per
row, equal to the scikit-learn metric called with ``sample_weight=row``. Undefined values
(a replicate with one class only, an empty denominator) are NaN.
"""

import numpy as np

BINARY_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "f1",
    "mcc",
    "roc_auc",
    "pr_auc",
    "brier",
)
SCORE_METRICS = ("roc_auc", "pr_auc", "brier")


def safe_ratio(numerator, denominator):
    """``numerator / denominator`` with NaN where the denominator is zero."""
    out = np.full(np.shape(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


class ScoreBins:
    """Samples sorted by score and grouped by tied score, ready for weighted curves.

    Parameters
    ----------
    is_pos : ndarray of bool, shape (n_samples,)
    score : ndarray of shape (n_samples,)
    """

    def __init__(self, is_pos, score):
        self.order = np.argsort(score, kind="mergesort")
        sorted_score = score[self.order]
        self.starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
        self.thresholds = sorted_score[self.starts]  # unique scores, ascending
        self.pos_sorted = is_pos[self.order]

    def split(self, weights):
        """Positive and negative weight per unique score: two (n_rep, n_unique) arrays."""
        w = weights[:, self.order]
        pos = np.add.reduceat(np.where(self.pos_sorted, w, 0.0), self.starts, axis=1)
        neg = np.add.reduceat(np.where(self.pos_sorted, 0.0, w), self.starts, axis=1)
        return pos, neg


def at_or_above(per_score):
    """Cumulative weight of the scores at or above each unique score (descending sum)."""
    return np.cumsum(per_score[:, ::-1], axis=1)[:, ::-1]


def roc_auc(pos, neg):
    """ROC AUC from :meth:`ScoreBins.split`, ties counted one half (Mann-Whitney)."""
    below = np.cumsum(neg, axis=1) - neg
    wins = np.sum(pos * (below + 0.5 * neg), axis=1)
    return safe_ratio(wins, pos.sum(axis=1) * neg.sum(axis=1))


def average_precision(pos, neg):
    """Average precision (scikit-learn's step-wise definition) from split weights."""
    tps, fps = at_or_above(pos), at_or_above(neg)
    precision = np.divide(tps, tps + fps, out=np.zeros_like(tps), where=(tps + fps) > 0)
    return safe_ratio(np.sum(pos * precision, axis=1), pos.sum(axis=1))


def binary_metrics(weights, is_pos, pred_pos, *, bins=None, squared_error=None,
                   metrics=BINARY_METRICS):
    """Evaluate the binary clinical metrics for every row of ``weights``.

    Parameters
    ----------
    weights : ndarray of shape (n_rep, n_samples)
    is_pos, pred_pos : ndarray of bool, shape (n_samples,)
        True and predicted positives.
    bins : ScoreBins or None
        Needed for ``roc_auc`` and ``pr_auc``.
    squared_error : ndarray of shape (n_samples,) or None
        ``(probability - is_pos) ** 2``, needed for ``brier``.
    metrics : tuple of str
        Which metrics to return.

    Returns
    -------
    dict of str to ndarray of shape (n_rep,)
    """
    cells = np.stack([is_pos & pred_pos, ~is_pos & pred_pos, is_pos & ~pred_pos], axis=1)
    tp, fp, fn = (weights @ cells.astype(float)).T
    total = weights.sum(axis=1)
    tn = total - tp - fp - fn
    both = ((tp + fn) > 0) & ((tn + fp) > 0)  # both classes present in the replicate
    sens, spec = safe_ratio(tp, tp + fn), safe_ratio(tn, tn + fp)
    mcc_den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = np.divide(tp * tn - fp * fn, mcc_den, out=np.zeros_like(tp), where=mcc_den > 0)
    out = {
        "accuracy": safe_ratio(tp + tn, total),
        "balanced_accuracy": (sens + spec) / 2,
        "sensitivity": sens,
        "specificity": spec,
        "ppv": safe_ratio(tp, tp + fp),
        "npv": safe_ratio(tn, tn + fn),
        "f1": np.where(both, safe_ratio(2 * tp, 2 * tp + fp + fn), np.nan),
        "mcc": np.where(both, mcc, np.nan),
    }
    if bins is not None and {"roc_auc", "pr_auc"} & set(metrics):
        pos, neg = bins.split(weights)
        out["roc_auc"] = roc_auc(pos, neg)
        out["pr_auc"] = np.where(both, average_precision(pos, neg), np.nan)
    if squared_error is not None:
        out["brier"] = safe_ratio(weights @ squared_error, total)
    return {name: out[name] for name in metrics if name in out}
