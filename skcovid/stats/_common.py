"""Helpers shared by the significance tests: indexing, scoring, fitting on folds."""

import math

import numpy as np
from joblib import Parallel, delayed
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import check_scoring

from ..metrics import get_scorer


def take(data, indices):
    """Rows ``indices`` of ``data``: ``.iloc`` for pandas objects, ``[]`` otherwise.

    Scan tables are DataFrames whose ``image`` column holds arrays or paths; a list
    (e.g. of paths or images) gives a list.
    """
    if hasattr(data, "iloc"):
        return data.iloc[indices]
    if isinstance(data, (list, tuple)):
        return [data[i] for i in indices]
    return data[indices]


def n_rows(data):
    """Number of samples (rows) of ``data``."""
    return data.shape[0] if hasattr(data, "shape") else len(data)


def resolve_scorer(scoring, estimator):
    """A scorer from a name (skcovid's clinical names included), a callable or None.

    ``None`` uses the estimator's own ``score`` method.
    """
    if scoring is None:
        return check_scoring(estimator)
    if isinstance(scoring, str) or callable(scoring):
        return get_scorer(scoring)
    raise ValueError(
        f"scoring must be None, a scorer name or a callable scorer; got {scoring!r}. "
        "Compare one metric at a time."
    )


def _fit_and_score(estimator, X, y, train, test, scorer):
    fitted = clone(estimator).fit(take(X, train), take(y, train))
    return scorer(fitted, take(X, test), take(y, test))


def cross_scores(estimators, X, y, splits, scoring, n_jobs=None):
    """Fit a clone of every estimator on every split; scores of shape (n_splits, n_models).

    All estimators see exactly the same folds, so the scores are paired.
    """
    scorers = [resolve_scorer(scoring, est) for est in estimators]
    jobs = (
        delayed(_fit_and_score)(est, X, y, train, test, scorer)
        for train, test in splits
        for est, scorer in zip(estimators, scorers)
    )
    scores = Parallel(n_jobs=n_jobs)(jobs)
    return np.asarray(scores, dtype=float).reshape(len(splits), len(estimators))


def t_test(mean, standard_error, df):
    """Two-sided t-test of ``mean / standard_error``; ``0 / 0`` gives t = 0 and p = 1."""
    if standard_error > 0:
        statistic = mean / standard_error
    else:  # no variability: identical models (p = 1) or a constant difference (p = 0)
        statistic = 0.0 if mean == 0 else math.copysign(math.inf, mean)
    return float(statistic), float(2 * stats.t.sf(abs(statistic), df))


def corrected_standard_error(values, n_train, n_test):
    """Nadeau & Bengio's standard error of the mean of resampled scores.

    The variance of the mean of ``J`` resampled (train, test) scores is inflated from
    ``var / J`` to ``(1 / J + n_test / n_train) * var``, accounting for overlapping
    training sets.
    """
    values = np.asarray(values, dtype=float)
    variance = np.var(values, ddof=1)
    return math.sqrt((1 / len(values) + n_test / n_train) * variance)
