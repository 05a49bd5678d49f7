"""``compare_estimators``: several models on the same folds, with paired tests."""

import warnings
from dataclasses import dataclass
from itertools import combinations
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import is_classifier
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold, check_cv

from ..metrics._format import result_repr
from ..utils._param_validation import Interval, Options, validate_params
from ._common import corrected_standard_error, cross_scores, n_rows
from ._cv_tests import corrected_resampled_ttest
from ._friedman import friedman_test
from ._multitest import CORRECTIONS, adjust_pvalues


@dataclass(frozen=True, eq=False)
class ComparisonResult:
    """Result of :func:`compare_estimators`.

    Attributes
    ----------
    scores : pandas.DataFrame
        Test score of each model (column) on each fold (row, index ``fold``).
    summary : pandas.DataFrame
        Per model: ``mean``, ``std``, ``ci_low``, ``ci_high`` (t interval with the
        Nadeau-Bengio corrected variance).
    pairwise : pandas.DataFrame
        Per pair: ``model_a``, ``model_b``, ``mean_difference`` (a - b), ``statistic``,
        ``pvalue`` and ``pvalue_corrected``.
    friedman : FriedmanResult or None
        Friedman test with Nemenyi post-hoc over the folds, for three or more models.
    test, correction : str or None
        The pairwise test and the multiple-testing correction used.
    n_train, n_test : float
        Mean training and test set sizes of the folds.
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    pairwise: pd.DataFrame
    friedman: object
    test: str
    correction: object
    n_train: float
    n_test: float

    __repr__ = result_repr


def _splitter(cv, y, groups, estimator):
    if isinstance(cv, Integral) and groups is not None:
        return StratifiedGroupKFold(cv) if is_classifier(estimator) else GroupKFold(cv)
    return check_cv(cv, y, classifier=is_classifier(estimator))


def _check_wilcoxon_folds(splits, n_samples):
    """Refuse overlapping test folds and warn when no p-value can fall below 0.05."""
    tested = np.bincount(np.concatenate([test for _, test in splits]), minlength=n_samples)
    if tested.max() > 1:
        raise ValueError(
            f"test='wilcoxon' treats the {len(splits)} fold differences as independent, but "
            f"cv tests some samples {tested.max()} times (repeated cross-validation): the "
            "differences are correlated and the test rejects far more often than its level "
            "when the models are equally good. Use test='corrected_ttest', or one k-fold "
            "split (e.g. cv=10) with test='wilcoxon'."
        )
    smallest = 2.0 ** (1 - len(splits))
    if smallest >= 0.05:
        warnings.warn(
            f"With {len(splits)} folds the smallest p-value the Wilcoxon signed-rank test can "
            f"give is {smallest:.4g}, so it cannot reject at the 5 % level; use at least 6 "
            "folds (cv=10) or test='corrected_ttest'.",
            UserWarning,
            stacklevel=4,
        )


def _pair_test(test, a, b, n_train, n_test):
    if test in ("auto", "corrected_ttest"):
        result = corrected_resampled_ttest(a, b, n_train=n_train, n_test=n_test)
        return result.statistic, result.pvalue
    differences = a - b
    if np.all(differences == 0):
        return 0.0, 1.0
    result = stats.wilcoxon(differences)
    return float(result.statistic), float(result.pvalue)


def _summary(scores, n_train, n_test, ci):
    n_folds = len(scores)
    rows = {}
    for name, column in scores.items():
        half = stats.t.ppf(0.5 + ci / 2, n_folds - 1) * corrected_standard_error(
            column, n_train, n_test
        )
        mean = column.mean()
        rows[name] = {"mean": mean, "std": column.std(ddof=1), "ci_low": mean - half,
                      "ci_high": mean + half}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


@validate_params({
    "test": [Options("auto", "corrected_ttest", "wilcoxon")],
    "correction": [Options(*CORRECTIONS), None],
    "n_jobs": [Interval(Integral, None, None), None],
    "ci": [Interval(Real, 0, 1, closed="neither")],
})
def compare_estimators(estimators, X, y, *, cv=5, groups=None, scoring=None, test="auto",
                       correction="holm", n_jobs=None, ci=0.95):
    """Compare several models on the same cross-validation folds.

    Clones of every model are fitted and scored on the same folds (in parallel over
    folds x models). Each pair is tested on its paired fold scores and the p-values are
    adjusted for multiple comparisons; with three or more models a Friedman test with
    Nemenyi post-hoc is added.

    Parameters
    ----------
    estimators : dict of str to estimator
        The models, by name (at least two).
    X : array-like, DataFrame or list of shape (n_samples, ...)
        Features (a scan table DataFrame is indexed with ``.iloc``).
    y : array-like of shape (n_samples,)
        Target.
    cv : int, cross-validation splitter or iterable, default=5
        An int gives (stratified) k-fold, or ``StratifiedGroupKFold`` when ``groups``
        is given. A ``RepeatedStratifiedKFold`` suits the corrected t-test best.
    groups : array-like of shape (n_samples,), default=None
        Patient ids, so that no patient is in both the training and the test fold.
    scoring : str, callable or None, default=None
        Scorer name (``"sensitivity"``, ``"roc_auc"``...) or scorer; None uses each
        estimator's ``score``.
    test : {"auto", "corrected_ttest", "wilcoxon"}, default="auto"
        Pairwise test; ``"auto"`` is Nadeau & Bengio's corrected resampled t-test,
        which (unlike a plain paired t-test) accounts for overlapping training sets.
        ``"wilcoxon"`` is the signed-rank test of the fold differences; it assumes
        independent differences, so it is refused for repeated CV (a sample tested
        twice), and with 5 folds or fewer it cannot reach p < 0.05 (smallest p is
        ``2 / 2**n_folds``, 0.0625 for 5 folds; a warning says so): use ``cv=10``.
    correction : str or None, default="holm"
        Multiple-testing correction of the pairwise p-values, any method of
        :func:`adjust_pvalues`.
    n_jobs : int, default=None
        Number of parallel jobs (joblib).
    ci : float, default=0.95
        Level of each model's confidence interval.

    Returns
    -------
    result : ComparisonResult
        ``scores``, ``summary``, ``pairwise`` and ``friedman`` (None for two models).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcovid.stats import compare_estimators
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> result = compare_estimators(
    ...     {"logreg": LogisticRegression(solver="liblinear"), "dummy": DummyClassifier()}, X, y)
    >>> result.scores.shape
    (5, 2)
    >>> result.pairwise[["model_a", "model_b"]].values.tolist()
    [['logreg', 'dummy']]
    >>> bool(result.pairwise.pvalue_corrected.iloc[0] < 0.05)
    True
    """
    if not isinstance(estimators, dict) or len(estimators) < 2:
        raise ValueError(
            "estimators must be a dict of at least two named models, e.g. "
            "{'baseline': DummyClassifier(), 'model': LogisticRegression()}."
        )
    names, models = list(estimators), list(estimators.values())
    splitter = _splitter(cv, y, groups, models[0])
    splits = list(splitter.split(np.zeros(n_rows(X)), y, groups))
    if len(splits) < 2:
        raise ValueError(f"cv gives {len(splits)} split; at least two are needed.")
    if test == "wilcoxon":
        _check_wilcoxon_folds(splits, n_rows(X))
    n_train = float(np.mean([len(train) for train, _ in splits]))
    n_test = float(np.mean([len(test) for _, test in splits]))
    scores = pd.DataFrame(cross_scores(models, X, y, splits, scoring, n_jobs), columns=names)
    scores.index.name = "fold"
    records = []
    for a, b in combinations(names, 2):
        statistic, pvalue = _pair_test(test, scores[a].to_numpy(), scores[b].to_numpy(),
                                       n_train, n_test)
        records.append({"model_a": a, "model_b": b,
                        "mean_difference": scores[a].mean() - scores[b].mean(),
                        "statistic": statistic, "pvalue": pvalue})
    pairwise = pd.DataFrame.from_records(records)
    pairwise["pvalue_corrected"] = adjust_pvalues(pairwise["pvalue"], method=correction)
    return ComparisonResult(
        scores=scores,
        summary=_summary(scores, n_train, n_test, ci),
        pairwise=pairwise,
        friedman=friedman_test(scores) if len(names) > 2 else None,
        test="corrected_ttest" if test == "auto" else test,
        correction=correction,
        n_train=n_train,
        n_test=n_test,
    )
