"""Tests comparing two learning algorithms from cross-validation scores.

- 5x2cv paired t-test (Dietterich, 1998, Neural Computation 10(7));
- 5x2cv combined F-test (Alpaydin, 1999, Neural Computation 11(8));
- corrected resampled t-test (Nadeau & Bengio, 2003, Machine Learning 52(3)).
"""

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy import stats
from sklearn.base import is_classifier
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold
from sklearn.utils import check_random_state

from ..metrics._format import result_repr
from ..utils._param_validation import RANDOM_STATE, Interval, validate_params
from ._common import corrected_standard_error, cross_scores, n_rows, t_test


@dataclass(frozen=True, eq=False)
class FiveByTwoResult:
    """Result of :func:`paired_ttest_5x2cv` and :func:`combined_ftest_5x2cv`.

    Attributes
    ----------
    statistic : float
        The t statistic (paired t-test) or F statistic (combined F-test).
    pvalue : float
        p-value: two-sided from t(5), or upper tail of F(10, 5).
    df : int or tuple of int
        Degrees of freedom: 5, or (10, 5).
    differences : ndarray of shape (5, 2)
        ``score_a - score_b`` for each repetition (row) and fold (column).
    scores_a, scores_b : ndarray of shape (5, 2)
        The scores of each model.
    """

    statistic: float
    pvalue: float
    df: object
    differences: np.ndarray
    scores_a: np.ndarray
    scores_b: np.ndarray

    __repr__ = result_repr


def _default_splitter(estimator, groups, seed):
    """One shuffled 2-fold split: grouped when ``groups`` is given, stratified for classifiers."""
    if groups is not None:
        if is_classifier(estimator):
            return StratifiedGroupKFold(n_splits=2, shuffle=True, random_state=seed)
        return GroupKFold(n_splits=2, shuffle=True, random_state=seed)
    if is_classifier(estimator):
        return StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    return KFold(n_splits=2, shuffle=True, random_state=seed)


def _five_by_two_splits(estimator, X, y, *, cv, groups, random_state):
    """Ten (train, test) splits: five repetitions of a 2-fold split."""
    dummy = np.zeros(n_rows(X))
    if cv is None:
        rng = check_random_state(random_state)
        splits = []
        for _ in range(5):
            splitter = _default_splitter(estimator, groups, rng.randint(np.iinfo(np.int32).max))
            splits.extend(splitter.split(dummy, y, groups))
        return splits
    if isinstance(cv, Integral):
        raise ValueError(
            f"cv={cv} is an int, but the 5x2cv tests need five repetitions of a 2-fold split; "
            "pass a splitter such as RepeatedStratifiedKFold(n_splits=2, n_repeats=5), or "
            "cv=None for the default."
        )
    splits = list(cv.split(dummy, y, groups) if hasattr(cv, "split") else cv)
    if len(splits) != 10:
        raise ValueError(
            f"cv gives {len(splits)} splits, but the 5x2cv tests need exactly 10 (five "
            "repetitions of a 2-fold split), e.g. RepeatedStratifiedKFold(n_splits=2, n_repeats=5)."
        )
    for rep in range(5):
        (_, first), (_, second) = splits[2 * rep], splits[2 * rep + 1]
        if np.intersect1d(first, second).size:
            raise ValueError(
                f"cv splits {2 * rep} and {2 * rep + 1} share test samples; each repetition "
                "must be a 2-fold split whose two test halves are disjoint."
            )
    return splits


def _five_by_two_scores(estimator_a, estimator_b, X, y, *, cv, scoring, groups, random_state,
                        n_jobs):
    """Scores of shape (5, 2, 2): repetition, fold, model."""
    splits = _five_by_two_splits(estimator_a, X, y, cv=cv, groups=groups,
                                 random_state=random_state)
    scores = cross_scores([estimator_a, estimator_b], X, y, splits, scoring, n_jobs)
    return scores.reshape(5, 2, 2)


def _five_by_two_result(scores, statistic_from):
    scores_a, scores_b = scores[..., 0], scores[..., 1]
    differences = scores_a - scores_b
    variances = np.sum((differences - differences.mean(axis=1, keepdims=True)) ** 2, axis=1)
    statistic, pvalue, df = statistic_from(differences, variances)
    return FiveByTwoResult(float(statistic), float(pvalue), df, differences, scores_a, scores_b)


def _paired_t(differences, variances):
    standard_error = np.sqrt(variances.sum() / 5)
    statistic, pvalue = t_test(differences[0, 0], standard_error, 5)
    return statistic, pvalue, 5


def _combined_f(differences, variances):
    numerator, denominator = np.sum(differences**2), 2 * variances.sum()
    if denominator > 0:
        statistic = numerator / denominator
    else:  # every fold gives the same difference
        statistic = 0.0 if numerator == 0 else np.inf
    return statistic, (1.0 if numerator == 0 else stats.f.sf(statistic, 10, 5)), (10, 5)


_FIVE_BY_TWO_PARAMS = {
    "random_state": [RANDOM_STATE, None],
    "n_jobs": [Interval(Integral, None, None), None],
}


@validate_params(_FIVE_BY_TWO_PARAMS)
def paired_ttest_5x2cv(estimator_a, estimator_b, X, y, *, cv=None, scoring=None, groups=None,
                       random_state=None, n_jobs=None):
    """Dietterich's 5x2cv paired t-test of two learning algorithms.

    Five times, the data are split in two halves; each model is trained on one half and
    scored on the other, and vice versa, giving differences ``p[i, j]``. With
    ``s_i^2 = sum_j (p[i, j] - mean_j p[i, j])^2`` the statistic
    ``t = p[0, 0] / sqrt(mean_i s_i^2)`` follows Student's t with 5 degrees of freedom.

    Parameters
    ----------
    estimator_a, estimator_b : estimator
        The two (unfitted) models; clones are fitted on every training half.
    X : array-like, DataFrame or list of shape (n_samples, ...)
        Features; a scan table DataFrame is indexed by row position (``.iloc``).
    y : array-like of shape (n_samples,)
        Target.
    cv : splitter, iterable or None, default=None
        The ten splits, as five repetitions of a 2-fold split in order (e.g.
        ``RepeatedStratifiedKFold(n_splits=2, n_repeats=5, random_state=0)``). None
        builds them: shuffled ``StratifiedKFold(2)`` for classifiers, ``KFold(2)`` for
        regressors, or with ``groups`` ``StratifiedGroupKFold(2)`` / ``GroupKFold(2)``.
    scoring : str, callable or None, default=None
        Scorer name (including ``"sensitivity"``, ``"specificity"``, ``"npv"``) or
        scorer; None uses each estimator's ``score``.
    groups : array-like of shape (n_samples,), default=None
        Patient ids, so that no patient is on both sides of a split (passed to ``cv``).
    random_state : int, RandomState instance or None, default=None
        Seeds the five shuffles when ``cv`` is None.
    n_jobs : int, default=None
        Number of parallel jobs for the 20 fits.

    Returns
    -------
    result : FiveByTwoResult
        ``statistic``, ``pvalue``, ``df=5`` and the (5, 2) ``differences``.

    See Also
    --------
    combined_ftest_5x2cv : the more powerful F version using all ten differences.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcovid.stats import paired_ttest_5x2cv
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> result = paired_ttest_5x2cv(LogisticRegression(solver="liblinear"), DummyClassifier(), X, y,
    ...                             random_state=0)
    >>> result.differences.shape, bool(result.pvalue < 0.05)
    ((5, 2), True)
    """
    scores = _five_by_two_scores(estimator_a, estimator_b, X, y, cv=cv, scoring=scoring,
                                 groups=groups, random_state=random_state, n_jobs=n_jobs)
    return _five_by_two_result(scores, _paired_t)


@validate_params(_FIVE_BY_TWO_PARAMS)
def combined_ftest_5x2cv(estimator_a, estimator_b, X, y, *, cv=None, scoring=None, groups=None,
                         random_state=None, n_jobs=None):
    """Alpaydin's combined 5x2cv F-test of two learning algorithms.

    From the same ten differences as :func:`paired_ttest_5x2cv`,
    ``F = sum_ij p[i, j]^2 / (2 sum_i s_i^2)`` follows F(10, 5). Unlike the t-test it
    does not depend on which fold comes first, and it is usually more powerful.

    Parameters
    ----------
    estimator_a, estimator_b : estimator
        The two (unfitted) models; clones are fitted on every training half.
    X : array-like, DataFrame or list of shape (n_samples, ...)
        Features; a scan table DataFrame is indexed by row position (``.iloc``).
    y : array-like of shape (n_samples,)
        Target.
    cv : splitter, iterable or None, default=None
        The ten splits, as five repetitions of a 2-fold split in order (e.g.
        ``RepeatedStratifiedKFold(n_splits=2, n_repeats=5, random_state=0)``). None
        builds them: shuffled ``StratifiedKFold(2)`` for classifiers, ``KFold(2)`` for
        regressors, or with ``groups`` ``StratifiedGroupKFold(2)`` / ``GroupKFold(2)``.
    scoring : str, callable or None, default=None
        Scorer name (including ``"sensitivity"``, ``"specificity"``, ``"npv"``) or
        scorer; None uses each estimator's ``score``.
    groups : array-like of shape (n_samples,), default=None
        Patient ids, so that no patient is on both sides of a split (passed to ``cv``).
    random_state : int, RandomState instance or None, default=None
        Seeds the five shuffles when ``cv`` is None.
    n_jobs : int, default=None
        Number of parallel jobs for the 20 fits.

    Returns
    -------
    result : FiveByTwoResult
        ``statistic`` (F), ``pvalue``, ``df=(10, 5)`` and the (5, 2) ``differences``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcovid.stats import combined_ftest_5x2cv
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> model = LogisticRegression(solver="liblinear")
    >>> result = combined_ftest_5x2cv(model, model, X, y)
    >>> result.statistic, result.pvalue
    (0.0, 1.0)
    """
    scores = _five_by_two_scores(estimator_a, estimator_b, X, y, cv=cv, scoring=scoring,
                                 groups=groups, random_state=random_state, n_jobs=n_jobs)
    return _five_by_two_result(scores, _combined_f)


@dataclass(frozen=True, eq=False)
class CorrectedTTestResult:
    """Result of :func:`corrected_resampled_ttest`.

    Attributes
    ----------
    statistic, pvalue : float
        t statistic and two-sided p-value.
    df : int
        Degrees of freedom (number of scores - 1).
    mean_difference : float
        Mean of ``scores_a - scores_b``.
    differences : ndarray of shape (n_scores,)
        The paired differences.
    """

    statistic: float
    pvalue: float
    df: int
    mean_difference: float
    differences: np.ndarray

    __repr__ = result_repr


def corrected_resampled_ttest(scores_a, scores_b, *, n_train, n_test):
    """Nadeau and Bengio's corrected resampled t-test on paired resampling scores.

    The scores of two models on the same ``J`` train/test splits (e.g. 10x repeated
    10-fold CV) are not independent: the training sets overlap. The plain paired
    t-test then rejects far too often; this test inflates the variance of the mean
    difference from ``var / J`` to ``(1 / J + n_test / n_train) * var``
    (df = J - 1).

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (n_splits,) or (n_repeats, n_folds)
        Scores of the two models, paired by split.
    n_train, n_test : int
        Training and test set sizes of one split.

    Returns
    -------
    result : CorrectedTTestResult

    Examples
    --------
    >>> from skcovid.stats import corrected_resampled_ttest
    >>> a = [0.81, 0.84, 0.79, 0.85, 0.83]
    >>> b = [0.78, 0.80, 0.79, 0.82, 0.80]
    >>> result = corrected_resampled_ttest(a, b, n_train=400, n_test=100)
    >>> round(result.statistic, 3), round(result.pvalue, 3)
    (2.556, 0.063)
    """
    a = np.asarray(scores_a, dtype=float).ravel()
    b = np.asarray(scores_b, dtype=float).ravel()
    if a.shape != b.shape or a.size < 2:
        raise ValueError(
            f"scores_a and scores_b must be paired scores of the same splits (at least "
            f"two); got {a.size} and {b.size} scores."
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores_a and scores_b must be finite; drop the failed splits.")
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(value, (Integral, float)) or value <= 0:
            raise ValueError(f"{name} must be a positive number of samples; got {value!r}.")
    differences = a - b
    standard_error = corrected_standard_error(differences, n_train, n_test)
    statistic, pvalue = t_test(differences.mean(), standard_error, a.size - 1)
    return CorrectedTTestResult(statistic, pvalue, a.size - 1, float(differences.mean()),
                                differences)

