"""MultiTaskFeatures: task-specific and shared features side by side (FeatureUnion-like)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ._tabular import PASSTHROUGH

BRANCHES = ("task", "shared")


class MultiTaskFeatures(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Concatenate the routed task-specific features and the shared features.

    Both branches are fitted on the same rows and labels; their outputs (without
    passthrough columns) are put side by side, followed by ``X``'s ``modality`` and
    ``patient`` columns, with ``X``'s index. Nested parameters are reachable as
    ``task__xray__hidden`` or ``shared__adversarial``.

    Parameters
    ----------
    task : estimator or None, default=None
        Task-specific branch, typically ``ModalityRouter({"xray": TaskSpecificExtractor(),
        "ct": TaskSpecificExtractor()})``. None leaves it out.
    shared : estimator or None, default=None
        Shared branch, typically :class:`SharedFeatureExtractor`. None leaves it out.

    Attributes
    ----------
    task_, shared_ : estimator or None
        The fitted clones.
    feature_names_out_ : ndarray of str
        Output feature columns (without passthrough columns).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skcovid.multimodal import (ModalityRouter, MultiTaskFeatures, SharedFeatureExtractor,
    ...                                 TaskSpecificExtractor)
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.randn(40, 3), columns=["emb_0", "emb_1", "emb_2"])
    >>> X["modality"] = ["xray", "ct"] * 20
    >>> y = np.where(X["emb_0"] > 0, "COVID", "Non_COVID")
    >>> task = TaskSpecificExtractor(hidden=(2,), max_epochs=1, random_state=0)
    >>> union = MultiTaskFeatures(task=ModalityRouter({"xray": task, "ct": task}),
    ...                           shared=SharedFeatureExtractor(hidden=(3,), max_epochs=1, random_state=0))
    >>> list(union.fit_transform(X, y).columns)
    ['task_0', 'task_1', 'shared_0', 'shared_1', 'shared_2', 'modality']
    """

    def __init__(self, task=None, shared=None):
        self.task = task
        self.shared = shared

    def _branches(self):
        branches = [(name, getattr(self, name)) for name in BRANCHES if getattr(self, name) is not None]
        if not branches:
            raise ValueError("MultiTaskFeatures needs a task or a shared estimator (both are None).")
        return branches

    def fit(self, X, y=None):
        """Fit both branches on ``(X, y)``.

        Parameters
        ----------
        X : DataFrame or array-like
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : MultiTaskFeatures
        """
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        """Fit both branches and return their concatenated outputs on ``X``."""
        outputs = []
        self.task_ = self.shared_ = None
        for name, estimator in self._branches():
            fitted = clone(estimator)
            outputs.append((name, fitted.fit_transform(X, y)))
            setattr(self, f"{name}_", fitted)
        return self._concatenate(X, outputs, reset=True)

    def transform(self, X):
        """Concatenated branch outputs, then the passthrough columns.

        Parameters
        ----------
        X : DataFrame or array-like

        Returns
        -------
        DataFrame (for a DataFrame ``X``) or ndarray
        """
        check_is_fitted(self, "feature_names_out_")
        outputs = [
            (name, getattr(self, f"{name}_").transform(X))
            for name in BRANCHES
            if getattr(self, f"{name}_") is not None
        ]
        return self._concatenate(X, outputs, reset=False)

    def _concatenate(self, X, outputs, *, reset):
        blocks, names = [], []
        for name, output in outputs:
            if isinstance(output, pd.DataFrame):
                features = output.drop(columns=[c for c in output.columns if c in PASSTHROUGH])
                columns = [str(c) for c in features.columns]
                values = features.to_numpy()
            else:
                values = np.asarray(output).reshape(len(X), -1)
                columns = [f"{name}_{i}" for i in range(values.shape[1])]
            blocks.append(values)
            names.append((name, columns))
        flat = [c for _, columns in names for c in columns]
        if len(set(flat)) < len(flat):  # disambiguate clashing names by branch
            flat = [f"{name}__{c}" for name, columns in names for c in columns]
        if reset:
            self.feature_names_out_ = np.asarray(flat, dtype=object)
        Z = np.hstack(blocks)
        if not isinstance(X, pd.DataFrame):
            return Z
        frame = pd.DataFrame(Z, index=X.index, columns=self.feature_names_out_)
        for column in PASSTHROUGH:
            if column in X.columns:
                frame[column] = X[column].to_numpy()
        return frame

    def get_feature_names_out(self, input_features=None):
        """The concatenated feature names (without passthrough columns)."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_
