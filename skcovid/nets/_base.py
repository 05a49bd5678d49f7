"""The machinery every end-to-end image estimator shares: preprocessing, datasets, skorch, inference."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..preprocessing import ScanDataset, ScanPreprocessor
from ..utils import (
    check_labels,
    check_scan_table,
    early_stopping_split,
    resolve_device,
    seed_everything,
    torch_generator,
    training_callbacks,
)
from ..utils._checkpoint import TrainingRun
from ..utils._interrupt import warn_if_interrupted
from ..utils._param_validation import Interval, StrOptions, check_estimator_params
from ._augment import ScanAugment, recipe_augmenters
from ._callbacks import make_skorch_net, n_batches, recipe_callbacks
from ._recipe import RecipeDataset, resolve_precision

SHARED_CONSTRAINTS = {
    "image_size": [Interval(Integral, 8, None, closed="left"), tuple],
    "clahe": ["boolean"],
    "ct_opening": [Interval(Integral, 0, None, closed="left")],
    "channels": [Interval(Integral, 1, None, closed="left")],
    "normalize": [StrOptions({"imagenet", "none", "per_image"}), tuple],
    "augment": [None, StrOptions({"default", "recipe"}), callable, dict],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "optimizer": [StrOptions({"adam", "adamw", "sgd"})],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "device": [str, None],
    "callbacks": [None, list],
    "checkpoint": [None, str, os.PathLike],
    "num_workers": [Interval(Integral, 0, None, closed="left")],
    "random_state": ["random_state"],
    "validation_fraction": [None, Interval(Real, 0, 0.5, closed="right")],
    "patience": [None, Interval(Integral, 1, None, closed="left")],
    "precision": [StrOptions({"fp32", "bf16", "auto"})],
    "lr_schedule": [None, StrOptions({"cosine", "onecycle"})],
    "warmup_epochs": [Interval(Real, 0, None, closed="left")],
    "monitor": [StrOptions({"valid_loss", "valid_auc"})],
    "image_cache_mb": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
}

CLASS_WEIGHT_CONSTRAINT = [None, StrOptions({"balanced"}), dict]


def shared_params(arguments):
    """Pick the shared parameters out of a subclass ``__init__``'s ``locals()`` (stored unchanged)."""
    return {name: arguments[name] for name in SHARED_CONSTRAINTS}


def softmax(logits):
    """Row-wise softmax of a 2-D numpy array."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class BaseImageNet(ClassifierMixin, BaseEstimator):
    """Base class of the end-to-end image estimators (not for direct use).

    It builds the :class:`~skcovid.preprocessing.ScanPreprocessor` (``preprocessor_``), the
    training and early-stopping datasets (validation rows carved from the training rows by
    patient with :func:`skcovid.utils.early_stopping_split`), the skorch net (``net_``,
    whose module is ``module_``) and runs inference over a DataLoader. Subclasses provide
    ``_build_module``, ``_build_criterion`` and, where needed, ``_check_table``,
    ``_encode_targets`` and ``_after_fit``.
    """

    _parameter_constraints = dict(SHARED_CONSTRAINTS)
    _with_masks = False

    def __init__(self, *, image_size=224, clahe=False, ct_opening=0, channels=3, normalize="imagenet",
                 augment=None, max_epochs=10, lr=1e-3, batch_size=32, optimizer="adamw", weight_decay=0.0,
                 device="auto", callbacks=None, checkpoint=None, num_workers=0, random_state=None,
                 validation_fraction=0.1, patience=5,
                 precision="fp32", lr_schedule=None, warmup_epochs=1.0, monitor="valid_loss",
                 image_cache_mb=1024, verbose=0):
        self.image_size = image_size
        self.clahe = clahe
        self.ct_opening = ct_opening
        self.channels = channels
        self.normalize = normalize
        self.augment = augment
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.device = device
        self.callbacks = callbacks
        self.checkpoint = checkpoint
        self.num_workers = num_workers
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.precision = precision
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.monitor = monitor
        self.image_cache_mb = image_cache_mb
        self.verbose = verbose

    # ----------------------------------------------------------------- hooks
    def _build_module(self, seed):  # pragma: no cover - abstract
        """Return ``(module_class, kwargs)``: skorch builds the module (so it is pickled once)."""
        raise NotImplementedError

    def _build_criterion(self, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_table(self, table):
        return table

    def _image_channels(self):
        return self.channels

    def _require_rgb(self):
        if self.channels != 3:
            raise ValueError(f"channels={self.channels}: torchvision backbones take 3-channel images; "
                             "use channels=3 (the gray scan is replicated).")

    def _after_fit(self, table, y, valid_idx):
        """Called at the end of ``fit`` with the scan table, encoded targets and validation rows."""

    def _encode_targets(self, y):
        """Check single-label targets, set ``classes_`` and return them as int64 codes."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(
                f"y must be one label per scan (1-D); got shape {y.shape}. "
                "For several labels per scan use ImageClassifier(multilabel=True)."
            )
        y = check_labels(y)  # missing or mixed-type labels, named by row
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"y holds a single class ({encoder.classes_[0]!r}); a classifier needs at least 2 classes."
            )
        self.classes_ = encoder.classes_
        return encoder.transform(y).astype(np.int64)

    def _class_weights(self, y, class_weight):
        """Per-class weights (float32 array) from None / "balanced" / {label: weight}."""
        if class_weight is None:
            return None
        if class_weight == "balanced":
            counts = np.bincount(y, minlength=len(self.classes_)).astype(np.float64)
            return (len(y) / (len(self.classes_) * np.maximum(counts, 1))).astype(np.float32)
        unknown = [k for k in class_weight if k not in set(self.classes_.tolist())]
        if unknown:
            raise ValueError(f"class_weight names labels {unknown} that are not in y (classes: "
                             f"{list(self.classes_)}).")
        return np.array([float(class_weight.get(c, 1.0)) for c in self.classes_], dtype=np.float32)

    def _weighted_cross_entropy(self, y, label_smoothing=0.0):
        """``nn.CrossEntropyLoss`` with the ``class_weight`` parameter's weights for ``y``."""
        import torch
        from torch import nn

        weights = self._class_weights(y, self.class_weight)
        return nn.CrossEntropyLoss(weight=None if weights is None else torch.from_numpy(weights),
                                   label_smoothing=label_smoothing)

    # ----------------------------------------------------------------- fitting
    def _make_preprocessor(self):
        return ScanPreprocessor(self.image_size, clahe=self.clahe, ct_opening=self.ct_opening,
                                channels=self._image_channels(), normalize=self.normalize).fit()

    def _augmenter(self):
        if self.augment == "default":
            return ScanAugment()
        if self.augment == "recipe":
            return recipe_augmenters()
        return self.augment

    def _dataset(self, table, y=None, *, augment=None):
        cache = 0 if self.num_workers else int(self.image_cache_mb * 2**20)
        return RecipeDataset(table, self.preprocessor_, y, with_masks=self._with_masks, augment=augment,
                             cache_bytes=cache)

    def fit(self, X, y):
        """Train the network on scans ``X`` with labels ``y``.

        Parameters
        ----------
        X : scan table (DataFrame with an ``image`` column), array of images, or list of paths/arrays
            A ``patient`` column groups the early-stopping validation split.
        y : array-like of shape (n_scans,)
            Class labels (strings or integers).

        Returns
        -------
        self
        """
        check_estimator_params(self)
        table = self._check_table(check_scan_table(X))
        if y is None:
            raise ValueError(f"{type(self).__name__} is supervised: pass the labels y to fit(X, y).")
        if len(y) != len(table):
            raise ValueError(f"X has {len(table)} scans but y has {len(y)} labels; pass one label per scan.")
        y = self._encode_targets(y)
        self.device_ = resolve_device(self.device)
        seed = seed_everything(self.random_state)
        self.preprocessor_ = self._make_preprocessor()
        module, module_params = self._build_module(seed)
        criterion = self._build_criterion(y)
        groups = table["patient"].to_numpy() if "patient" in table.columns else None
        train_idx, valid_idx = early_stopping_split(
            y, groups, validation_fraction=self.validation_fraction, random_state=seed
        )
        train = self._dataset(table.iloc[train_idx], y[train_idx], augment=self._augmenter())
        valid = None if valid_idx is None else self._dataset(table.iloc[valid_idx], y[valid_idx])
        self.precision_ = resolve_precision(self.precision, self.device_)
        has_validation = valid is not None
        callbacks = [] if self.monitor == "valid_auc" else training_callbacks(
            has_validation=has_validation, patience=self.patience, verbose=self.verbose)
        callbacks += recipe_callbacks(
            lr_schedule=self.lr_schedule, warmup_epochs=self.warmup_epochs, max_epochs=self.max_epochs,
            n_steps=n_batches(len(train_idx), self.batch_size), monitor=self.monitor,
            has_validation=has_validation, patience=self.patience, verbose=self.verbose)
        run = TrainingRun(self, checkpoint=self.checkpoint, data=(table, y))
        self.net_ = make_skorch_net(
            module, module_params, criterion, valid=valid, optimizer=self.optimizer, lr=self.lr,
            weight_decay=self.weight_decay, max_epochs=self.max_epochs, batch_size=self.batch_size,
            device=self.device_, callbacks=callbacks + list(self.callbacks or []) + run.callbacks(),
            num_workers=self.num_workers, n_train=len(train_idx),
            generator=torch_generator(None if self.random_state is None else seed), verbose=self.verbose,
            precision=self.precision_,
        )
        with run:  # raises KeyboardInterrupt after recording the partly trained model on Ctrl-C
            self.net_.fit(train, y=None, **run.fit_params(self.max_epochs))
            self.net_.train_split = None  # do not keep (and pickle) the validation images
            self.net_.optimizer_.state.clear()  # moment estimates would triple the size of a saved model
            self.module_ = self.net_.module_
            self.module_.eval()
            self.history_ = self.net_.history
            self.n_epochs_ = len(self.history_)
            self._after_fit(table, y, valid_idx)
        return self

    # ----------------------------------------------------------------- inference
    def _map_batches(self, X, fn=None):
        """Yield ``fn(batch)`` (default: the module's output), moved to the CPU, batch by batch.

        Scans are decoded by a DataLoader (``batch_size``, ``num_workers``); the module is in
        eval mode and gradients are off.
        """
        import torch
        from skorch.utils import to_device

        check_is_fitted(self, "net_")
        warn_if_interrupted(self, "Predicting with")
        dataset = ScanDataset(check_scan_table(X), self.preprocessor_)
        fn = self.module_ if fn is None else fn
        # a net saved before precision existed (a plain skorch net) runs in fp32
        precision = getattr(self.net_, "forward_with_precision", lambda f, x: f(x))
        self.module_.eval()
        for x, _ in self.net_.get_iterator(dataset, training=False):
            with torch.no_grad():
                out = to_device(precision(fn, x.to(self.device_)), "cpu")
            yield out

    def _logits(self, X):
        chunks = [out[0] if isinstance(out, tuple) else out for out in self._map_batches(X)]
        return np.concatenate([c.numpy() for c in chunks]).astype(np.float64)

    def decision_function(self, X):
        """Class logits: shape (n_scans,) (logit difference) for 2 classes, else (n_scans, n_classes)."""
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits), shape (n_scans, n_classes), in ``classes_`` order."""
        return softmax(self._logits(X))

    def predict(self, X):
        """The most probable class of each scan, as labels from ``classes_``."""
        return self.classes_[np.argmax(self._logits(X), axis=1)]

    def __getstate__(self):
        warn_if_interrupted(self, "Saving")
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__ itself
        state.pop("module_", None)  # net_ holds the module: pickle it once, keep one object
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            self.module_ = self.net_.module_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.non_deterministic = self.random_state is None
        return tags
