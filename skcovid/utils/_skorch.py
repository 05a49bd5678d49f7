"""Small pieces every skorch-backed estimator shares: early stopping on a patient split."""

from __future__ import annotations

import numpy as np

from ._split import grouped_validation_split


def early_stopping_split(y, groups=None, *, validation_fraction=0.1, random_state=None):
    """Indices for training and early-stopping validation, carved by patient from training data.

    Parameters
    ----------
    y : array-like
        Encoded targets of the training rows.
    groups : array-like, optional
        Patient ids (each row its own group when None).
    validation_fraction : float or None
        Share held out; None or 0 disables validation (returns ``(all rows, None)``).
    random_state : int, RandomState instance or None

    Returns
    -------
    train_idx : ndarray of int
    valid_idx : ndarray of int or None
    """
    n = len(y)
    if not validation_fraction:
        return np.arange(n), None
    return grouped_validation_split(y, groups, fraction=validation_fraction, random_state=random_state)


def _silent(*args, **kwargs):
    """A picklable sink that prints nothing (a lambda would break joblib.dump of fitted nets)."""


def training_callbacks(*, has_validation, patience=5, monitor="valid_loss", verbose=0):
    """skorch callbacks: early stopping (restoring the best epoch) when there is a validation set.

    Parameters
    ----------
    has_validation : bool
        Whether a validation split exists.
    patience : int or None, default=5
        Epochs without improvement before stopping; None disables early stopping.
    monitor : str, default="valid_loss"
        History key to watch (lower is better).
    verbose : int, default=0

    Returns
    -------
    list of (name, callback)
    """
    from skorch.callbacks import EarlyStopping

    if not has_validation or patience is None:
        return []
    return [("early_stopping", EarlyStopping(monitor=monitor, patience=patience, load_best=True,
                                             sink=print if verbose else _silent))]
