"""Cochran's Q test: do k >= 2 classifiers have the same accuracy on the same samples?"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..metrics._format import result_repr
from ..metrics._validation import check_labels, check_predicted_labels, check_same_length


@dataclass(frozen=True, eq=False)
class CochransQResult:
    """Result of :func:`cochrans_q`.

    Attributes
    ----------
    statistic : float
        Cochran's Q.
    pvalue : float
        Upper tail of chi-squared with ``df`` degrees of freedom.
    df : int
        Number of models - 1.
    accuracies : pandas.Series
        Accuracy of each model.
    """

    statistic: float
    pvalue: float
    df: int
    accuracies: pd.Series

    __repr__ = result_repr


def cochrans_q(y_true, y_preds):
    """Cochran's Q test of equal accuracy of several classifiers on the same samples.

    The generalisation of McNemar's test to ``k`` models: with ``C_j`` the samples
    model ``j`` gets right, ``R_i`` the models that get sample ``i`` right and ``T``
    their total, ``Q = (k - 1) (k sum_j C_j^2 - T^2) / (k T - sum_i R_i^2)`` is
    approximately chi-squared with ``k - 1`` degrees of freedom. Samples that all
    models get right (or all wrong) carry no information. When it rejects, compare
    pairs with :func:`mcnemar_test` and :func:`adjust_pvalues`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (any labels; multiclass is fine).
    y_preds : dict of str to array-like, or list of array-like
        Predicted labels of each model on the same samples (at least two models);
        dict keys name the models.

    Returns
    -------
    result : CochransQResult
        ``statistic``, ``pvalue``, ``df`` and each model's accuracy.

    Notes
    -----
    The chi-squared approximation needs enough informative samples (rule of thumb:
    ``n * k`` >= 24 after dropping the all-right and all-wrong samples). With two
    models Q equals McNemar's statistic without continuity correction.

    Examples
    --------
    >>> from skcovid.stats import cochrans_q
    >>> y = [1, 1, 0, 0, 1, 0, 1, 0, 1, 1]
    >>> preds = {"a": [1, 1, 0, 0, 1, 0, 1, 0, 1, 1],
    ...          "b": [1, 0, 0, 1, 1, 0, 0, 0, 1, 1],
    ...          "c": [0, 0, 1, 1, 1, 0, 0, 1, 0, 1]}
    >>> result = cochrans_q(y, preds)
    >>> round(result.statistic, 3), round(result.pvalue, 4), result.df
    (10.571, 0.0051, 2)
    """
    y_true = check_labels(y_true, "y_true")
    named = dict(y_preds) if isinstance(y_preds, dict) else {
        f"model_{i}": pred for i, pred in enumerate(y_preds)
    }
    if len(named) < 2:
        raise ValueError(
            f"y_preds holds {len(named)} model(s); Cochran's Q compares at least two, e.g. "
            "{'resnet': pred_a, 'vgg': pred_b, 'mtl': pred_c}."
        )
    preds = {name: check_labels(pred, f"y_preds[{name!r}]") for name, pred in named.items()}
    check_same_length(y_true=y_true, **{f"y_preds[{name!r}]": p for name, p in preds.items()})
    for name, pred in preds.items():
        check_predicted_labels(y_true, pred, f"y_preds[{name!r}]")
    correct = np.column_stack([pred == y_true for pred in preds.values()]).astype(float)
    k = correct.shape[1]
    per_model, per_sample = correct.sum(axis=0), correct.sum(axis=1)
    total = per_model.sum()
    denominator = k * total - np.sum(per_sample**2)
    if denominator > 0:
        statistic = (k - 1) * (k * np.sum(per_model**2) - total**2) / denominator
        pvalue = stats.chi2.sf(statistic, k - 1)
    else:  # every sample right for all models or wrong for all: no evidence
        statistic, pvalue = 0.0, 1.0
    accuracies = pd.Series(per_model / len(y_true), index=list(preds), name="accuracy")
    return CochransQResult(float(statistic), float(pvalue), k - 1, accuracies)
