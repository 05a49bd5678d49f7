"""Splitting scan tables by patient, so that no patient is on both sides."""

from __future__ import annotations

from numbers import Real

import numpy as np

from ..utils import grouped_validation_split
from ..utils._param_validation import Interval, validate_params


def patient_split_labels(y, groups, test_size, random_state):
    """Return an array of "train"/"test" for each row, split by patient."""
    _, test = grouped_validation_split(y, groups, fraction=test_size, random_state=random_state)
    labels = np.full(len(np.asarray(y)), "train", dtype=object)
    labels[test] = "test"
    return labels


@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "groups": [str, "array-like"],
    },
)
def train_test_split_by_patient(X, y, *, test_size=0.25, random_state=None, groups="patient"):
    """Split a scan table into train and test sets with no patient on both sides.

    The split is stratified by ``y`` where the patients allow it
    (:class:`~sklearn.model_selection.StratifiedGroupKFold`), else grouped only.
    For cross-validation use ``StratifiedGroupKFold`` directly with
    ``groups=X["patient"]``, e.g. ``cross_val_score(model, X, y,
    cv=StratifiedGroupKFold(5), groups=X["patient"])``.

    Parameters
    ----------
    X : DataFrame
        A scan table with a ``patient`` column (or pass ``groups``).
    y : array-like of shape (n_samples,)
        Targets.
    test_size : float, default=0.25
        Approximate share of rows in the test set.
    random_state : int, RandomState instance or None, default=None
        Seed of the split.
    groups : str or array-like, default="patient"
        The column of ``X`` holding patient ids, or the ids themselves.

    Returns
    -------
    X_train, X_test, y_train, y_test
        Same types as the inputs (rows taken with ``iloc`` for pandas objects).

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans, train_test_split_by_patient
    >>> bunch = make_synthetic_scans(40, image_size=32, random_state=0)
    >>> X_tr, X_te, y_tr, y_te = train_test_split_by_patient(bunch.data, bunch.target, random_state=0)
    >>> set(X_tr["patient"]) & set(X_te["patient"])
    set()
    """
    if isinstance(groups, str):
        if not hasattr(X, "columns") or groups not in X.columns:
            raise ValueError(f"X has no {groups!r} column to group by; pass groups=<array of patient ids>.")
        groups = X[groups].to_numpy()
    if len(groups) != len(y) or len(X) != len(y):
        raise ValueError(f"X, y and groups must have the same length; got {len(X)}, {len(y)}, {len(groups)}.")
    train, test = grouped_validation_split(y, groups, fraction=test_size, random_state=random_state)

    def take(obj, idx):
        return obj.iloc[idx] if hasattr(obj, "iloc") else np.asarray(obj)[idx]

    return take(X, train), take(X, test), take(y, train), take(y, test)
