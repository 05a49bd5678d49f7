"""Bootstrap resampling as count matrices, and percentile confidence intervals.

A bootstrap replicate is represented by how many times it draws each sample: a row of
non-negative integer weights. Every metric is then a weighted metric, so one matrix
product (or one cumulative sum) evaluates all replicates at once. When ``groups`` is
given, whole groups (patients) are drawn with replacement and each of their rows gets
the group's count: the cluster bootstrap.
"""

import numpy as np
from sklearn.utils import check_random_state

# Bootstrap rows are produced in chunks so that one chunk holds about this many weights.
_CHUNK_ELEMENTS = 4_000_000


def group_codes(groups, n_samples):
    """Map ``groups`` to integer codes ``0..n_groups-1``; ``None`` gives one group a row."""
    if groups is None:
        return np.arange(n_samples)
    groups = np.asarray(groups.to_numpy() if hasattr(groups, "to_numpy") else groups)
    if groups.ndim != 1 or len(groups) != n_samples:
        raise ValueError(
            f"groups must give one group (patient) id per sample: expected shape "
            f"({n_samples},), got {groups.shape}."
        )
    return np.unique(groups, return_inverse=True)[1].ravel()


def bootstrap_weights(codes, n_bootstraps, random_state):
    """Yield count matrices of shape (chunk, n_samples) summing to ``n_bootstraps`` rows.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Integer group code of each sample (``arange(n)`` for the ordinary bootstrap).
    n_bootstraps : int
        Number of replicates in total.
    random_state : int, RandomState instance or None
        Seeds the draws; the same seed always yields the same replicates.
    """
    rng = check_random_state(random_state)
    n_samples = len(codes)
    n_groups = int(codes.max()) + 1
    chunk = max(1, _CHUNK_ELEMENTS // max(n_samples, n_groups))
    done = 0
    while done < n_bootstraps:
        size = min(chunk, n_bootstraps - done)
        draws = rng.randint(n_groups, size=(size, n_groups))
        draws += (np.arange(size) * n_groups)[:, None]
        counts = np.bincount(draws.ravel(), minlength=size * n_groups)
        counts = counts.reshape(size, n_groups).astype(float)
        yield counts[:, codes]
        done += size


def percentile_interval(replicates, ci, *, interpolate=True):
    """Percentile interval of each column, ignoring NaN (undefined) replicates.

    Parameters
    ----------
    replicates : ndarray of shape (n_bootstraps, n_metrics)
        Bootstrap values; NaN marks a replicate where the metric is undefined.
    ci : float
        Confidence level, e.g. 0.95.
    interpolate : bool, default=True
        Interpolate linearly between order statistics. ``False`` rounds outwards to
        replicate values (the lower bound down, the upper bound up), which keeps
        infinite replicates (a threshold of ``inf``) meaningful instead of NaN.

    Returns
    -------
    low, high : ndarray of shape (n_metrics,)
        The interval bounds (NaN where no replicate is defined).
    n_valid : ndarray of shape (n_metrics,)
        How many replicates were defined for each metric.
    """
    replicates = np.atleast_2d(replicates)
    n_valid = np.sum(~np.isnan(replicates), axis=0)
    alpha = (1 - ci) / 2
    low = np.full(replicates.shape[1], np.nan)
    high = np.full(replicates.shape[1], np.nan)
    defined = n_valid > 0
    if defined.any():
        values = replicates[:, defined]
        if interpolate:
            low[defined], high[defined] = np.nanquantile(values, [alpha, 1 - alpha], axis=0)
        else:
            low[defined] = np.nanquantile(values, alpha, axis=0, method="lower")
            high[defined] = np.nanquantile(values, 1 - alpha, axis=0, method="higher")
    return low, high, n_valid
