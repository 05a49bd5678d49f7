"""Patient-grouped validation splits carved from training data."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold
from sklearn.utils import check_random_state


def grouped_validation_split(y, groups=None, *, fraction=0.1, random_state=None):
    """Split training rows into train and validation indices, never splitting a patient.

    Used for early stopping: the validation rows are carved from the *training* data,
    grouped by patient and stratified by class where the groups allow it.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets (the first column is used for stratification when 2-D).
    groups : array-like of shape (n_samples,), optional
        Patient ids; each row is its own group when None.
    fraction : float, default=0.1
        Share of rows (approximately, by group) to hold out, in (0, 1).
    random_state : int, RandomState instance or None, default=None
        Seed of the split (a RandomState is consumed once, so repeated calls differ).

    Returns
    -------
    train_idx, valid_idx : ndarray of int
        Disjoint indices; no group is on both sides.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.utils import grouped_validation_split
    >>> y = np.array([0, 1] * 10)
    >>> groups = np.repeat(np.arange(10), 2)
    >>> train, valid = grouped_validation_split(y, groups, fraction=0.2, random_state=0)
    >>> set(groups[train]) & set(groups[valid])
    set()
    """
    y = np.asarray(y)
    n = len(y)
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1); got {fraction!r}.")
    groups = np.arange(n) if groups is None else np.asarray(groups)
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries but y has {n}.")
    strat = y if y.ndim == 1 else y[:, 0]
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError(
            "Splitting by patient needs at least 2 patients (groups); got 1. Check the 'patient' "
            "column, or set validation_fraction=None to train without early stopping."
        )
    n_splits = int(np.clip(round(1.0 / fraction), 2, n_groups))
    random_state = check_random_state(random_state).randint(0, 2**31 - 1)
    try:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        with warnings.catch_warnings():  # few members per class: stratification is best effort
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            train_idx, valid_idx = next(splitter.split(np.zeros(n), strat, groups))
    except ValueError:
        splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=random_state)
        train_idx, valid_idx = next(splitter.split(np.zeros(n), strat, groups))
    return np.sort(train_idx), np.sort(valid_idx)
