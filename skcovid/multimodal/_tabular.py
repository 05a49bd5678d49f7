"""Tabular plumbing shared by the extractors and the head.

Their input is a DataFrame of numeric feature columns plus *passthrough* columns
(``modality``, ``patient``) that are not features but travel with the rows, or a plain
numeric array. Their output keeps the input's kind: an array for an array, and a
DataFrame with the same index and the passthrough columns appended for a DataFrame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns that are never features: they are passed through unchanged.
PASSTHROUGH = ("modality", "patient")


def split_passthrough(X):
    """Separate feature columns from passthrough columns.

    Parameters
    ----------
    X : DataFrame or array-like

    Returns
    -------
    features : DataFrame or array-like
        ``X`` without the passthrough columns (``X`` itself when not a DataFrame).
    passthrough : DataFrame or None
        The passthrough columns present in ``X`` (None when ``X`` is not a DataFrame).
    """
    if not isinstance(X, pd.DataFrame):
        return X, None
    keep = [c for c in X.columns if c in PASSTHROUGH]
    features = X.drop(columns=keep) if keep else X
    bad = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if bad:
        raise ValueError(
            f"Columns {bad[:5]} are not numeric features. These estimators read numeric feature "
            f"columns (e.g. an embedder's emb_0, emb_1, ...) plus the passthrough columns "
            f"{list(PASSTHROUGH)}; drop other columns (or embed the scan table first)."
        )
    return features, X[keep]


def canonical_modalities(values):
    """Canonical modality names (``check_modality``), leaving unknown names as strings."""
    from ..utils import check_modality

    def one(value):
        try:
            return check_modality(value)
        except ValueError:
            return str(value)

    return np.asarray([one(v) for v in values], dtype=object)


def column_of(X, name):
    """The values of column ``name`` of a DataFrame ``X`` as an array, or None."""
    if isinstance(X, pd.DataFrame) and name in X.columns:
        return X[name].to_numpy()
    return None


class FrameOutputMixin:
    """``set_output`` for transformers whose output keeps the input's kind (see the module).

    Their DataFrame output carries the string ``modality``/``patient`` columns the next
    step needs, so it cannot become a polars frame; ``"pandas"`` and ``"default"`` (the
    input's kind: a DataFrame for a DataFrame, an array for an array) are accepted, so
    that ``pipeline.set_output(transform="pandas")`` works.
    """

    def set_output(self, *, transform=None):
        """Accept ``transform="pandas"``, ``"default"`` or None (the output keeps the input's kind).

        Parameters
        ----------
        transform : {"pandas", "default"} or None, default=None

        Returns
        -------
        self
        """
        if transform not in (None, "pandas", "default"):
            raise ValueError(
                f"{type(self).__name__} returns a pandas DataFrame for a DataFrame input (its "
                f"'modality'/'patient' columns travel with the features) and an array for an "
                f"array, so set_output(transform={transform!r}) is not supported; use 'pandas', "
                "'default' or None, and convert the final features yourself."
            )
        return self


def wrap_output(Z, X, passthrough, prefix):
    """Return ``Z`` as ``X`` came in: an array, or a DataFrame with X's index and passthrough.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_outputs)
    X : DataFrame or array-like
        The input whose kind and index are kept.
    passthrough : DataFrame or None
        Columns appended unchanged.
    prefix : str
        Output columns are named ``f"{prefix}_{i}"``.
    """
    if not isinstance(X, pd.DataFrame):
        return Z
    frame = pd.DataFrame(Z, index=X.index, columns=[f"{prefix}_{i}" for i in range(Z.shape[1])])
    if passthrough is not None:
        for column in passthrough.columns:
            frame[column] = passthrough[column].to_numpy()
    return frame


def batched_apply(function, X, *, batch_size, device):
    """Apply a torch function to a float array in evaluation batches; return a float32 array.

    Parameters
    ----------
    function : callable
        Maps a float32 tensor ``(b, n_features)`` to a tensor ``(b, k)``.
    X : ndarray of shape (n_samples, n_features)
    batch_size : int
    device : str
    """
    import torch

    outputs = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            batch = torch.tensor(np.asarray(X[start : start + batch_size], dtype=np.float32), device=device)
            outputs.append(function(batch).detach().cpu())
    return torch.cat(outputs).numpy().astype(np.float32, copy=False)


def validation_indices(y, groups, *, validation_fraction, random_state, min_samples=20):
    """Train/validation indices for early stopping, grouped by patient.

    Validation is skipped (``valid_idx`` is None) when ``validation_fraction`` is None,
    when fewer than ``min_samples`` rows are given, or when the training part would lose
    a class.
    """
    from ..utils import early_stopping_split

    n = len(y)
    if not validation_fraction or n < min_samples:
        return np.arange(n), None
    train_idx, valid_idx = early_stopping_split(
        y, groups, validation_fraction=validation_fraction, random_state=random_state
    )
    if len(valid_idx) < 2 or len(np.unique(y[train_idx])) < len(np.unique(y)):
        return np.arange(n), None
    return train_idx, valid_idx


def check_enough_rows(y, estimator_name):
    """Raise a clear error for fewer than 2 rows or a single class."""
    n = len(y)
    if n < 2:
        raise ValueError(f"{estimator_name} needs at least 2 samples to train; got {n} sample.")
    n_classes = len(np.unique(y))
    if n_classes < 2:
        raise ValueError(
            f"{estimator_name} needs at least 2 classes in y to learn the diagnosis; got 1 class "
            f"({np.unique(y)[0]!r})."
        )
