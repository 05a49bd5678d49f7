"""FineTunedEmbedder: fine-tune a backbone and a dense head with skorch, then embed."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..preprocessing import ScanDataset
from ..utils import (
    check_scan_table,
    early_stopping_split,
    seed_everything,
    torch_generator,
    training_callbacks,
)
from ..utils._checkpoint import TrainingRun
from ..utils._interrupt import warn_if_interrupted
from ..utils._param_validation import Interval, StrOptions, check_estimator_params
from ._base import COMMON_CONSTRAINTS, _BaseEmbedder
from ._cache import module_fingerprint

_OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}


class FineTunedEmbedder(ClassifierMixin, _BaseEmbedder):
    """Fine-tune a torchvision backbone with a dense head, then embed scans with it.

    ``fit(X, y)`` trains ``backbone -> dense(hidden) -> leaky ReLU -> class logits`` with
    skorch (a :class:`skorch.NeuralNetClassifier` with cross-entropy, kept
    as ``net_``). Early stopping watches a validation split carved from the training rows
    by patient (``X["patient"]`` when present), never a test set. ``transform`` returns the
    penultimate embedding, the ``hidden``-wide leaky-ReLU activation of the dense layer
    (the backbone's pooled features when ``hidden=None``); ``predict`` and ``predict_proba``
    use the trained head.

    Parameters
    ----------
    backbone : str, default="resnet18"
        A torchvision classification model name.
    weights : None, str or path-like, default=None
        Initial backbone weights (see :class:`PretrainedEmbedder`).
    hidden : int or None, default=1280
        Width of the dense layer, hence of the embedding.
    trainable_layers : int, "all" or None, default="all"
        Number of the backbone's last top-level stages that are trained (ResNet:
        ``conv1, bn1, layer1 ... layer4``; DenseNet/EfficientNet/ConvNeXt/VGG: the children
        of ``features``; ViT: the encoder blocks and final norm; see
        :func:`skcovid.modules.backbone_stages`). The other stages are frozen
        and kept in eval mode (batch-norm statistics fixed). 0 trains the head only;
        "all" or None trains everything. The head is always trained. The older spelling of
        ``freeze``: prefer ``freeze``, and give only one of the two.
    freeze : None, "backbone", int or list of str, default=None
        Backbone parameters to keep fixed, in :class:`~skcovid.nets.ImageClassifier`'s
        vocabulary: none; all (only the head trains); the first *n* stages (the same stages
        as ``trainable_layers`` counts from the other end: ``freeze=k`` is
        ``trainable_layers=n_stages - k``); or the layers named (``["conv1", "bn1",
        "layer1"]``). Frozen batch-norm layers stay in eval mode.
    image_size, clahe, clahe_clip_limit, ct_opening, ct_window, normalize
        Preprocessing, see :class:`~skcovid.preprocessing.ScanPreprocessor`.
    max_epochs : int, default=10
    lr : float, default=1e-3
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
    batch_size : int, default=32
    validation_fraction : float or None, default=0.1
        Share of the training patients held out for early stopping; None disables it.
    patience : int or None, default=5
        Epochs without improvement of the validation loss before stopping (the best epoch's
        weights are restored).
    callbacks : list of (name, callback), optional
        Extra skorch callbacks.
    checkpoint : None, str or path-like, default=None
        Folder that makes an interrupted ``fit`` resumable (needs an int ``random_state``);
        see :class:`~skcovid.nets.ImageClassifier`.
    augment : callable, optional
        Training-time augmentation applied to image tensors (see ``ScanDataset``).
    num_workers : int, default=0
        DataLoader worker processes.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
    cache : None, True or path-like, default=None
        Embedding cache for ``transform`` (see :class:`PretrainedEmbedder`); the key contains
        a fingerprint of the trained weights, so different fits never collide.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the validation split and the shuffling. On the CPU, fits
        with the same ``random_state``, data and number of torch threads give identical
        weights; see :class:`~skcovid.nets.ImageClassifier` for other thread counts and GPUs.
    verbose : int, default=0
        skorch's per-epoch table when > 0.

    Attributes
    ----------
    net_ : skorch.NeuralNetClassifier
    module_ : BackboneClassifier
        The trained network mapping images to class logits ``(N, n_classes)``.
    model_ : torch.nn.Module
        View of ``module_`` mapping images to embeddings (``module_.embed``).
    classes_ : ndarray
        The labels seen in ``fit`` (strings are fine).
    preprocessor_, device_, n_features_out_, passthrough_columns_, n_images_forwarded_
        As in :class:`PretrainedEmbedder`.
    weights_fingerprint_ : str
        Digest of the trained weights (part of the cache keys).
    fit_interrupted_ : bool
        True when the last ``fit`` was stopped by Ctrl-C (``fit`` raised
        :class:`KeyboardInterrupt` and kept the partly trained network; ``transform``,
        ``predict`` and saving warn).

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans
    >>> from skcovid.embedders import FineTunedEmbedder
    >>> data = make_synthetic_scans(16, modalities=("xray",), image_size=32, random_state=0)
    >>> emb = FineTunedEmbedder(hidden=8, image_size=32, max_epochs=1, trainable_layers=1, random_state=0)
    >>> emb.fit(data.data, data.target).transform(data.data).shape
    (16, 10)
    >>> sorted(emb.classes_)
    ['COVID', 'Non_COVID']
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "hidden": [None, Interval(Integral, 1, None, closed="left")],
        "trainable_layers": [None, StrOptions({"all"}), Interval(Integral, 0, None, closed="left")],
        "freeze": [None, StrOptions({"backbone"}), Interval(Integral, 0, None, closed="left"), list, tuple],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "validation_fraction": [None, Interval(Real, 0, 0.5, closed="right")],
        "patience": [None, Interval(Integral, 1, None, closed="left")],
        "callbacks": [None, list],
        "checkpoint": [None, str, os.PathLike],
        "augment": [None, callable],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        backbone="resnet18",
        *,
        weights=None,
        hidden=1280,
        trainable_layers="all",
        freeze=None,
        image_size=224,
        clahe=False,
        clahe_clip_limit=0.01,
        ct_opening=0,
        ct_window=None,
        normalize="imagenet",
        max_epochs=10,
        lr=1e-3,
        optimizer="adam",
        batch_size=32,
        validation_fraction=0.1,
        patience=5,
        callbacks=None,
        checkpoint=None,
        augment=None,
        num_workers=0,
        device="auto",
        cache=None,
        random_state=None,
        verbose=0,
    ):
        self.backbone = backbone
        self.weights = weights
        self.hidden = hidden
        self.trainable_layers = trainable_layers
        self.freeze = freeze
        self.image_size = image_size
        self.clahe = clahe
        self.clahe_clip_limit = clahe_clip_limit
        self.ct_opening = ct_opening
        self.ct_window = ct_window
        self.normalize = normalize
        self.max_epochs = max_epochs
        self.lr = lr
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.callbacks = callbacks
        self.checkpoint = checkpoint
        self.augment = augment
        self.num_workers = num_workers
        self.device = device
        self.cache = cache
        self.random_state = random_state
        self.verbose = verbose

    def _make_net(self, n_classes, n_train, valid_dataset, seed, resume_callbacks):
        import torch
        from skorch import NeuralNetClassifier
        from skorch.helper import predefined_split

        from ..modules._embedding_heads import BackboneClassifier

        optimizer = self.optimizer
        if isinstance(optimizer, str):
            optimizer = getattr(torch.optim, _OPTIMIZERS[optimizer])
        has_validation = valid_dataset is not None
        callbacks = training_callbacks(
            has_validation=has_validation, patience=self.patience, verbose=self.verbose
        )
        return NeuralNetClassifier(
            BackboneClassifier,
            module__backbone=self.backbone,
            module__weights=self.weights,
            module__hidden=self.hidden,
            module__n_classes=n_classes,
            module__trainable_layers=self.trainable_layers,
            module__freeze=self.freeze,
            module__random_state=seed,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=predefined_split(valid_dataset) if has_validation else None,
            callbacks=callbacks + list(self.callbacks or []) + resume_callbacks,
            classes=np.arange(n_classes),
            iterator_train__shuffle=True,
            # a last batch of one sample breaks batch norm in training mode
            iterator_train__drop_last=n_train > self.batch_size and n_train % self.batch_size == 1,
            iterator_train__num_workers=self.num_workers,
            iterator_train__generator=torch_generator(self.random_state),
            iterator_valid__num_workers=self.num_workers,
            device=self.device_,
            verbose=self.verbose,
        )

    def fit(self, X, y):
        """Fine-tune the backbone and head on ``(X, y)``.

        Parameters
        ----------
        X : scan table, array of images, or list of paths/arrays
            A ``patient`` column groups the early-stopping split.
        y : array-like of shape (n_scans,)
            Labels (strings or integers), at least two classes.

        Returns
        -------
        self : FineTunedEmbedder
        """
        check_estimator_params(self)
        table = self._fit_preprocessing(X, y)
        y = column_or_1d(y, warn=True)
        if len(y) != len(table):
            raise ValueError(f"X has {len(table)} scans but y has {len(y)} labels.")
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"FineTunedEmbedder needs at least 2 classes in y; got {list(self.classes_)}.")
        codes = encoder.transform(y).astype(np.int64)
        groups = table["patient"].to_numpy() if "patient" in table.columns else None
        train_idx, valid_idx = early_stopping_split(
            codes, groups, validation_fraction=self.validation_fraction, random_state=self.random_state
        )
        seed = seed_everything(self.random_state)
        valid = None
        if valid_idx is not None:
            valid = ScanDataset(table.iloc[valid_idx], self.preprocessor_, codes[valid_idx])
        train = ScanDataset(table.iloc[train_idx], self.preprocessor_, codes[train_idx], augment=self.augment)
        module_seed = seed if self.random_state is not None else None
        run = TrainingRun(self, checkpoint=self.checkpoint, data=(table, codes))
        self.net_ = self._make_net(len(self.classes_), len(train), valid, module_seed, run.callbacks())
        with run:  # raises KeyboardInterrupt after recording the partly trained model on Ctrl-C
            self.net_.fit(train, y=None, **run.fit_params(self.max_epochs))
            self.module_.eval()
            self.n_features_out_ = self.module_.n_embedding
            self.weights_fingerprint_ = module_fingerprint(self.module_)
            self.network_key_ = f"finetuned|{self.backbone}|sha={self.weights_fingerprint_}"
        return self

    @property
    def module_(self):
        """The trained ``BackboneClassifier`` (images -> class logits)."""
        return self.net_.module_

    @property
    def model_(self):
        """A view of ``module_`` mapping images to the penultimate embedding."""
        from ..modules._embedding_heads import EmbeddingView

        return EmbeddingView(self.net_.module_)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : scan table, array of images, or list of paths/arrays

        Returns
        -------
        ndarray of shape (n_scans, n_classes)
        """
        check_is_fitted(self, "net_")
        warn_if_interrupted(self, "Predicting with")
        proba = self.net_.predict_proba(ScanDataset(check_scan_table(X), self.preprocessor_))
        return np.asarray(proba, dtype=np.float64)

    def predict(self, X):
        """Predicted labels (from ``classes_``).

        Parameters
        ----------
        X : scan table, array of images, or list of paths/arrays

        Returns
        -------
        ndarray of shape (n_scans,)
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def transform(self, X):
        check_is_fitted(self, "net_")
        warn_if_interrupted(self, "Embedding with")
        return super().transform(X)

    transform.__doc__ = _BaseEmbedder.transform.__doc__

    def __getstate__(self):
        warn_if_interrupted(self, "Saving")
        return super().__getstate__()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags
