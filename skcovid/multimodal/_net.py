"""The skorch-trained MLP behind :class:`TaskSpecificExtractor` and :class:`ClassifierHead`."""

from __future__ import annotations

from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..modules._mlp import ACTIVATIONS
from ..utils import TrainingRun, check_labels
from ..utils._param_validation import Interval, StrOptions, check_estimator_params
from ._tabular import (
    batched_apply,
    check_enough_rows,
    column_of,
    split_passthrough,
    validation_indices,
)

MLP_CONSTRAINTS = {
    "hidden": [tuple, list],
    "standardize": ["boolean"],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_norm": ["boolean"],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "validation_fraction": [None, Interval(Real, 0, 0.5, closed="right")],
    "patience": [None, Interval(Integral, 1, None, closed="left")],
    "device": [str],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


@contextmanager
def small_network_threads(device):
    """Train on one CPU thread: these MLPs are small, and several threads only add overhead."""
    from ..utils._torch import one_cpu_thread

    if str(device) != "cpu":
        yield
        return
    with one_cpu_thread():
        yield


def check_hidden(hidden, *, allow_empty):
    """Return ``hidden`` as a tuple of positive ints or raise naming the problem."""
    sizes = tuple(hidden)
    if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise ValueError(f"hidden must be a sequence of positive ints (layer widths); got {hidden!r}.")
    if not sizes and not allow_empty:
        raise ValueError("hidden must name at least one layer: its last layer is the extracted feature.")
    return sizes


class LabelMLP(BaseEstimator):
    """Base of the estimators that train an MLP with skorch on the diagnosis labels.

    Subclasses set ``_allow_empty_hidden`` and may override ``_criterion_params``.
    Fitted state: ``net_`` (skorch ``NeuralNet``), ``module_`` (its
    :class:`~skcovid.modules.MLPClassifierModule`), ``classes_``, ``device_``,
    ``history_`` (skorch's history), ``n_features_in_`` and ``feature_names_in_``.
    """

    _allow_empty_hidden = False

    def _criterion_params(self, y_encoded):
        """``gamma`` and ``alpha`` of the :class:`~skcovid.modules.FocalLoss` criterion."""
        return {"gamma": 0.0, "alpha": None}

    def _check_features(self, X, *, reset):
        features, passthrough = split_passthrough(X)
        features = validate_data(self, features, reset=reset, dtype=[np.float32, np.float64])
        return features.astype(np.float32, copy=False), passthrough

    def _prepare_training_data(self, X, y):
        """Validate parameters and data; set ``classes_`` and ``device_``.

        Returns
        -------
        X : ndarray of float32, y_encoded : ndarray of int64, groups : ndarray or None
        """
        from ..utils import resolve_device

        check_estimator_params(self)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        groups = column_of(X, "patient")
        features, _ = self._check_features(X, reset=True)
        y = check_labels(column_or_1d(y, warn=True))
        check_classification_targets(y)
        if len(y) != len(features):
            raise ValueError(f"X has {len(features)} rows but y has {len(y)} entries.")
        check_enough_rows(y, type(self).__name__)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        self.device_ = resolve_device(self.device)
        return np.array(features, dtype=np.float32), encoder.transform(y).astype(np.int64), groups

    def _skorch_kwargs(self, n_train, seed, valid):
        """The skorch arguments every network of this subpackage shares.

        Adam with ``lr`` and ``weight_decay``, ``max_epochs``, ``batch_size``, seeded
        shuffling, the predefined patient-grouped validation set, and the drop-last rule
        (a last training batch of one row breaks batch normalisation: it is dropped).
        """
        import torch
        from skorch.helper import predefined_split

        from ..utils import torch_generator

        return dict(
            optimizer=torch.optim.Adam,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None if valid is None else predefined_split(valid),
            iterator_train__shuffle=True,
            iterator_train__generator=torch_generator(seed),
            iterator_train__drop_last=n_train % self.batch_size == 1,
            device=self.device_,
            verbose=self.verbose,
        )

    def _module_params(self, n_features, hidden):
        return dict(
            module__n_features=n_features,
            module__n_classes=len(self.classes_),
            module__hidden=hidden,
            module__activation=self.activation,
            module__dropout=self.dropout,
            module__batch_norm=self.batch_norm,
        )

    def _fit_network(self, X, y):
        """Validate, encode labels, split for early stopping and train ``net_`` with skorch."""
        from skorch import NeuralNet
        from skorch.dataset import Dataset

        from ..modules import FocalLoss
        from ..modules._mlp import MLPClassifierModule
        from ..utils import seed_everything, training_callbacks

        X_all, y_encoded, groups = self._prepare_training_data(X, y)
        self.scaler_ = None
        if self.standardize:
            mean, std = X_all.mean(axis=0), X_all.std(axis=0)
            self.scaler_ = (mean, np.where(std > 1e-8, std, 1.0).astype(np.float32))
            X_all = (X_all - self.scaler_[0]) / self.scaler_[1]
        hidden = check_hidden(self.hidden, allow_empty=self._allow_empty_hidden)
        seed = seed_everything(self.random_state)
        train_idx, valid_idx = validation_indices(
            y_encoded, groups, validation_fraction=self.validation_fraction, random_state=seed
        )
        valid = None if valid_idx is None else Dataset(X_all[valid_idx], y_encoded[valid_idx])
        criterion = self._criterion_params(y_encoded)
        self.net_ = NeuralNet(
            module=MLPClassifierModule,
            **self._module_params(X_all.shape[1], hidden),
            criterion=FocalLoss,
            criterion__gamma=criterion["gamma"],
            criterion__alpha=criterion["alpha"],
            callbacks=training_callbacks(
                has_validation=valid is not None, patience=self.patience, verbose=self.verbose
            ),
            **self._skorch_kwargs(len(train_idx), seed, valid),
        )
        with TrainingRun(self), small_network_threads(self.device_):  # Ctrl-C raises, not returns
            self.net_.fit(X_all[train_idx], y_encoded[train_idx])
            self.module_ = self.net_.module_
            self.history_ = self.net_.history
        return self

    def _apply(self, X, function_name):
        """``module_.<function_name>`` over ``X``'s features; returns (array, passthrough)."""
        check_is_fitted(self, "module_")
        features, passthrough = self._check_features(X, reset=False)
        if getattr(self, "scaler_", None) is not None:
            features = (features - self.scaler_[0]) / self.scaler_[1]
        self.module_.eval()
        output = batched_apply(
            getattr(self.module_, function_name),
            features,
            batch_size=max(self.batch_size, 256),
            device=self.device_,
        )
        return output, passthrough

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.non_deterministic = self.random_state is None
        return tags
