"""``repeated_runs``: how much one model's score moves from seed to seed."""

from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone, is_classifier
from sklearn.model_selection import check_cv

from ..metrics._format import result_repr
from ..utils._param_validation import STRING, Interval, validate_params
from ._common import cross_scores, n_rows, resolve_scorer


@dataclass(frozen=True, eq=False)
class RepeatedRunsResult:
    """Result of :func:`repeated_runs`.

    Attributes
    ----------
    scores : pandas.Series
        Score of each run, indexed by seed.
    mean, std : float
        Mean and standard deviation (ddof=1) over seeds.
    ci_low, ci_high : float
        Student-t confidence interval of the mean score over seeds.
    ci : float
        Its level.
    """

    scores: pd.Series
    mean: float
    std: float
    ci_low: float
    ci_high: float
    ci: float

    __repr__ = result_repr


def _seeded(estimator, seed_param, seed):
    model = clone(estimator)
    if seed_param not in model.get_params(deep=True):
        candidates = [p for p in model.get_params(deep=True) if p.endswith("random_state")]
        raise ValueError(
            f"{type(estimator).__name__} has no parameter {seed_param!r}; pass seed_param="
            f"one of {candidates} (nested parameters look like 'clf__random_state')."
        )
    return model.set_params(**{seed_param: seed})


@validate_params({"seed_param": [STRING], "ci": [Interval(Real, 0, 1, closed="neither")]})
def repeated_runs(estimator, X, y, seeds, *, X_test=None, y_test=None, cv=None,
                  scoring=None, seed_param="random_state", ci=0.95):
    """Score one model trained with several random seeds: seed-to-seed variability.

    .. warning::
       This is **not** a comparison between models and not a significance test. It
       measures how much a single model's score changes when only its random seed
       (weight initialisation, shuffling, dropout...) changes, everything else fixed.
       Reporting a "p-value" from such runs -- as the original framework's
       "significance test" did -- says nothing about whether the model beats another.
       To compare models use :func:`compare_estimators`, :func:`mcnemar_test`,
       :func:`delong_test` or the 5x2cv tests.

    Parameters
    ----------
    estimator : estimator
        The (unfitted) model; a clone per seed gets ``seed_param=seed``.
    X, y : array-like
        Training data (or all data when ``cv`` is used).
    seeds : iterable of int
        The seeds, at least two.
    X_test, y_test : array-like, default=None
        A fixed held-out set: each seed trains on ``(X, y)`` and is scored on it.
    cv : int, splitter or None, default=None
        Without a test set, each seed is scored by the mean over the same CV folds
        (``None`` means 5-fold, stratified for classifiers), so only the seed varies.
    scoring : str, callable or None, default=None
        Scorer name or scorer; None uses the estimator's ``score``.
    seed_param : str, default="random_state"
        Name of the seed parameter, e.g. ``"clf__random_state"`` in a pipeline.
    ci : float, default=0.95
        Level of the t interval of the mean score.

    Returns
    -------
    result : RepeatedRunsResult
        Per-seed ``scores`` and ``mean``, ``std``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skcovid.stats import repeated_runs
    >>> X, y = make_classification(n_samples=150, random_state=0)
    >>> result = repeated_runs(RandomForestClassifier(n_estimators=10), X[:100], y[:100],
    ...                        seeds=range(5), X_test=X[100:], y_test=y[100:])
    >>> result.scores.index.tolist()
    [0, 1, 2, 3, 4]
    >>> bool(result.ci_low <= result.mean <= result.ci_high)
    True
    """
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least two seeds; got {seeds!r}.")
    if (X_test is None) != (y_test is None):
        raise ValueError("Pass both X_test and y_test, or neither (to use cv).")
    if X_test is not None and cv is not None:
        raise ValueError("Pass either a test set (X_test, y_test) or cv, not both.")
    models = [_seeded(estimator, seed_param, seed) for seed in seeds]
    if X_test is not None:
        scorer = resolve_scorer(scoring, estimator)
        values = [scorer(model.fit(X, y), X_test, y_test) for model in models]
    else:
        splitter = check_cv(5 if cv is None else cv, y, classifier=is_classifier(estimator))
        splits = list(splitter.split(np.zeros(n_rows(X)), y))
        values = cross_scores(models, X, y, splits, scoring).mean(axis=0)
    scores = pd.Series(np.asarray(values, dtype=float), index=pd.Index(seeds, name="seed"),
                       name="score")
    mean, std = float(scores.mean()), float(scores.std(ddof=1))
    half = stats.t.ppf(0.5 + ci / 2, len(seeds) - 1) * std / np.sqrt(len(seeds))
    return RepeatedRunsResult(scores, mean, std, mean - half, mean + half, ci)
