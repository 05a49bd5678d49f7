"""Friedman's test over several models with the Nemenyi post-hoc test (Demsar, 2006)."""

from dataclasses import dataclass
from itertools import combinations
from numbers import Real

import numpy as np
import pandas as pd
from scipy import stats

from ..metrics._format import result_repr
from ..utils._param_validation import BOOLEAN, Interval, validate_params


@dataclass(frozen=True, eq=False)
class FriedmanResult:
    """Result of :func:`friedman_test`.

    Attributes
    ----------
    statistic : float
        Friedman's chi-squared statistic (corrected for ties, as in scipy).
    pvalue : float
        Its p-value (chi-squared with k - 1 degrees of freedom).
    average_ranks : pandas.Series
        Mean rank of each model; rank 1 is the best.
    critical_difference : float
        Nemenyi critical difference at level ``alpha``: two models whose average ranks
        differ by more are significantly different.
    pairwise_pvalues : pandas.DataFrame
        Nemenyi p-value of every pair of models (symmetric, 1 on the diagonal).
    alpha : float
        Significance level of ``critical_difference``.
    """

    statistic: float
    pvalue: float
    average_ranks: pd.Series
    critical_difference: float
    pairwise_pvalues: pd.DataFrame
    alpha: float

    __repr__ = result_repr


@validate_params({
    "alpha": [Interval(Real, 0, 1, closed="neither")],
    "greater_is_better": [BOOLEAN],
})
def friedman_test(scores, *, alpha=0.05, greater_is_better=True):
    """Friedman's rank test of k >= 3 models on N datasets (or folds), with Nemenyi.

    Models are ranked within each row (ties get average ranks). Friedman's test asks
    whether the average ranks differ; the Nemenyi post-hoc test compares every pair
    through the studentized range distribution: the pair differs when its average
    ranks are more than ``CD = q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N))`` apart.

    Parameters
    ----------
    scores : DataFrame or array-like of shape (n_datasets, n_models)
        One row per dataset (or fold), one column per model. Column names of a
        DataFrame name the models.
    alpha : float, default=0.05
        Level of the critical difference.
    greater_is_better : bool, default=True
        Whether a higher score is better (rank 1 goes to the best model).

    Returns
    -------
    result : FriedmanResult

    Notes
    -----
    Demsar (2006) designed these tests for independent datasets; rows that are folds
    of one dataset are correlated, so treat the p-values as indicative.

    Examples
    --------
    >>> import pandas as pd
    >>> from skcovid.stats import friedman_test
    >>> scores = pd.DataFrame({"a": [0.90, 0.85, 0.88, 0.91, 0.87],
    ...                        "b": [0.80, 0.79, 0.83, 0.84, 0.80],
    ...                        "c": [0.70, 0.72, 0.69, 0.75, 0.71]})
    >>> result = friedman_test(scores)
    >>> result.average_ranks.tolist(), round(result.critical_difference, 3)
    ([1.0, 2.0, 3.0], 1.482)
    >>> round(result.pairwise_pvalues.loc["a", "c"], 4)
    np.float64(0.0045)
    """
    frame = pd.DataFrame(scores)
    if frame.shape[1] < 3 or frame.shape[0] < 2:
        raise ValueError(
            f"scores must have at least 3 models (columns) and 2 datasets (rows); got "
            f"shape {frame.shape}. For two models use a paired test such as "
            "corrected_resampled_ttest or mcnemar_test."
        )
    values = frame.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("scores contains NaN or infinite values; drop those rows.")
    n_rows, k = values.shape
    ranks = stats.rankdata(-values if greater_is_better else values, axis=1)
    average_ranks = pd.Series(ranks.mean(axis=0), index=frame.columns, name="average_rank")
    if np.all(ranks == ranks[:, :1]):  # every row tied: no evidence at all
        statistic, pvalue = 0.0, 1.0
    else:
        statistic, pvalue = stats.friedmanchisquare(*values.T)
    standard_error = np.sqrt(k * (k + 1) / (6 * n_rows))
    q_alpha = stats.studentized_range.ppf(1 - alpha, k, np.inf)
    pairwise = np.ones((k, k))
    for i, j in combinations(range(k), 2):
        q = abs(average_ranks.iloc[i] - average_ranks.iloc[j]) * np.sqrt(2) / standard_error
        pairwise[i, j] = pairwise[j, i] = stats.studentized_range.sf(q, k, np.inf)
    return FriedmanResult(
        statistic=float(statistic),
        pvalue=float(pvalue),
        average_ranks=average_ranks,
        critical_difference=float(q_alpha / np.sqrt(2) * standard_error),
        pairwise_pvalues=pd.DataFrame(pairwise, index=frame.columns, columns=frame.columns),
        alpha=alpha,
    )
