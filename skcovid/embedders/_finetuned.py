"""FineTunedEmbedder: an image classifier whose dense layer embeds scans."""

from __future__ import annotations

import warnings
from numbers import Integral

from ..nets import BaseImageNet, ImageClassifier
from ..utils._interrupt import warn_if_interrupted
from ..utils._param_validation import Interval, StrOptions
from ._base import COMMON_CONSTRAINTS, _BaseEmbedder
from ._cache import module_fingerprint


class FineTunedEmbedder(_BaseEmbedder, BaseImageNet):
    """Fine-tune a torchvision backbone with a dense head, then embed scans with it.

    The training side is that of :class:`~skcovid.nets.ImageClassifier` (the same
    :class:`~skcovid.nets.BaseImageNet` engine, parameters and defaults: skorch, early
    stopping on a patient-grouped validation split of the training rows, the recipe's
    ``precision``, ``lr_schedule``, ``monitor``, ``augment``, ``label_smoothing`` and image
    cache, checkpoints); the network is ``backbone -> dense(hidden) -> leaky ReLU -> class
    logits``. ``transform`` returns the penultimate embedding, the ``hidden``-wide leaky-ReLU
    activation of the dense layer (the backbone's pooled features when ``hidden=None``), with
    the embedders' contract (``modality`` and ``patient`` passed through, the embedding
    cache); ``predict``, ``predict_proba`` and ``decision_function`` use the trained head.

    Parameters
    ----------
    backbone : str, default="resnet18"
        A torchvision classification model name, or ``"scan_cnn"``
        (:class:`~skcovid.modules.ScanCNN`, a small network for training from scratch).
    weights : None, str or path-like, default=None
        Initial backbone weights, as in :class:`~skcovid.nets.ImageClassifier`: None
        (random initialisation), a torchvision weight name ("DEFAULT"; downloaded once) or a
        local ``state_dict`` file.
    hidden : int or None, default=1280
        Width of the dense layer, hence of the embedding.
    freeze : None, "backbone", int or list of str, default=None
        Backbone parameters to keep fixed, as in :class:`~skcovid.nets.ImageClassifier`:
        none; all (only the head trains); the first *n* stages of
        :func:`skcovid.modules.backbone_stages` (ResNet: ``conv1, bn1, layer1 ... layer4``);
        or the layers named (``["conv1", "bn1", "layer1"]``). Frozen batch-norm layers stay
        in eval mode.
    trainable_layers : int, "all" or "deprecated", default="deprecated"
        Deprecated: use ``freeze``. The number of the backbone's last stages that are
        trained; ``trainable_layers=k`` is ``freeze=n_stages - k`` (resnet18 has 6 stages,
        so ``trainable_layers=1`` is ``freeze=5``) and ``trainable_layers=0`` is
        ``freeze="backbone"``. Setting it warns (``FutureWarning``).
    label_smoothing : float, default=0.0
        Label smoothing of the cross-entropy, as in :class:`~skcovid.nets.ImageClassifier`.
    class_weight : None, "balanced" or dict, default=None
        Class weights of the cross-entropy, as in :class:`~skcovid.nets.ImageClassifier`:
        ``"balanced"`` weights each class by ``n_scans / (n_classes * class_count)``, counted
        in the ``y`` given to ``fit``; a dict ``{label: weight}`` weights the labels it names
        (the others get 1) and must name only labels of ``y``.
    image_size, clahe, clahe_clip_limit, ct_opening, ct_window, normalize
        Preprocessing, see :class:`~skcovid.preprocessing.ScanPreprocessor`.
    augment, max_epochs, lr, batch_size, optimizer, weight_decay, device, callbacks, \
checkpoint, num_workers, random_state, validation_fraction, patience, precision, \
lr_schedule, warmup_epochs, monitor, image_cache_mb, verbose
        Training settings, with the meanings and defaults of
        :class:`~skcovid.nets.ImageClassifier` (``max_epochs=10``, ``lr=1e-3``,
        ``batch_size=32``, ``optimizer="adamw"``, ``validation_fraction=0.1``,
        ``patience=5``, ``precision="fp32"``, ...).
    cache : None, True, path-like or EmbeddingCache, default=None
        Embedding cache for ``transform`` (see :class:`PretrainedEmbedder`); the key contains
        a fingerprint of the trained weights, so different fits never collide.

    Attributes
    ----------
    net_ : skorch.NeuralNet
    module_ : BackboneClassifier
        The trained network mapping images to class logits ``(N, n_classes)``.
    model_ : torch.nn.Module
        View of ``module_`` mapping images to embeddings (``module_.embed``).
    classes_ : ndarray
        The labels seen in ``fit`` (strings are fine).
    history_, n_epochs_, precision_
        As in :class:`~skcovid.nets.ImageClassifier`.
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
    >>> emb = FineTunedEmbedder(hidden=8, image_size=32, max_epochs=1, freeze=5, random_state=0)
    >>> emb.fit(data.data, data.target).transform(data.data).shape
    (16, 10)
    >>> sorted(emb.classes_)
    ['COVID', 'Non_COVID']
    """

    _parameter_constraints = {
        **{k: v for k, v in BaseImageNet._parameter_constraints.items() if k != "channels"},
        **COMMON_CONSTRAINTS,
        "hidden": [None, Interval(Integral, 1, None, closed="left")],
        "freeze": ImageClassifier._parameter_constraints["freeze"],
        "trainable_layers": [StrOptions({"all", "deprecated"}), Interval(Integral, 0, None, closed="left")],
        "label_smoothing": ImageClassifier._parameter_constraints["label_smoothing"],
        "class_weight": ImageClassifier._parameter_constraints["class_weight"],
    }

    def __init__(
        self,
        backbone="resnet18",
        *,
        weights=None,
        hidden=1280,
        freeze=None,
        trainable_layers="deprecated",
        label_smoothing=0.0,
        class_weight=None,
        image_size=224,
        clahe=False,
        clahe_clip_limit=0.01,
        ct_opening=0,
        ct_window=None,
        normalize="imagenet",
        augment=None,
        max_epochs=10,
        lr=1e-3,
        batch_size=32,
        optimizer="adamw",
        weight_decay=0.0,
        device="auto",
        callbacks=None,
        checkpoint=None,
        num_workers=0,
        cache=None,
        random_state=None,
        validation_fraction=0.1,
        patience=5,
        precision="fp32",
        lr_schedule=None,
        warmup_epochs=1.0,
        monitor="valid_loss",
        image_cache_mb=1024,
        verbose=0,
    ):
        self.backbone = backbone
        self.weights = weights
        self.hidden = hidden
        self.freeze = freeze
        self.trainable_layers = trainable_layers
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.image_size = image_size
        self.clahe = clahe
        self.clahe_clip_limit = clahe_clip_limit
        self.ct_opening = ct_opening
        self.ct_window = ct_window
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
        self.cache = cache
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.precision = precision
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.monitor = monitor
        self.image_cache_mb = image_cache_mb
        self.verbose = verbose

    # ----------------------------------------------------------------- BaseImageNet hooks
    def _check_table(self, table):
        if self.trainable_layers != "deprecated":
            warnings.warn(
                f"trainable_layers={self.trainable_layers!r} is deprecated and will be removed; use "
                "freeze, which counts the frozen stages from the input side: trainable_layers=k is "
                "freeze=n_stages - k (resnet18 has 6 stages: trainable_layers=1 is freeze=5) and "
                "trainable_layers=0 is freeze='backbone'.",
                FutureWarning,
                stacklevel=3,
            )
        return self._fit_preprocessing(table)  # preprocessor_, passthrough_columns_: as every embedder

    def _make_preprocessor(self):
        return self.preprocessor_  # built by _fit_preprocessing, with the embedders' options

    def _build_module(self, seed):
        from ..modules._embedding_heads import BackboneClassifier

        trainable = "all" if self.trainable_layers == "deprecated" else self.trainable_layers
        return BackboneClassifier, {
            "backbone": self.backbone,
            "weights": self.weights,
            "hidden": self.hidden,
            "n_classes": len(self.classes_),
            "trainable_layers": trainable,
            "freeze": self.freeze,
            "random_state": seed,
        }

    def _build_criterion(self, y):
        return self._weighted_cross_entropy(y, self.label_smoothing)

    def _after_fit(self, table, y, valid_idx):
        self.n_features_out_ = self.module_.n_embedding
        self.weights_fingerprint_ = module_fingerprint(self.module_)
        self.network_key_ = f"finetuned|{self.backbone}|sha={self.weights_fingerprint_}"

    # ----------------------------------------------------------------- embedding
    @property
    def model_(self):
        """A view of ``module_`` mapping images to the penultimate embedding."""
        from ..modules._embedding_heads import EmbeddingView

        return EmbeddingView(self.module_)

    def transform(self, X):
        warn_if_interrupted(self, "Embedding with")
        return super().transform(X)

    transform.__doc__ = _BaseEmbedder.transform.__doc__

    def __setstate__(self, state):
        super().__setstate__(_upgrade_state(state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def _upgrade_state(state):
    """The state of an embedder saved by an older skcovid, in today's vocabulary, training as it did.

    Before a1102f8 it trained with its own skorch net. The parameters added since get the
    values of that training (no label smoothing, class weights, schedule or bf16; torch's
    AdamW weight decay 0.01, as it passed none); ``trainable_layers`` "all" or None becomes
    "deprecated" (the same network), a number stays (a refit warns and says how to write it
    with ``freeze``). A fitted one gets ``history_``, ``n_epochs_`` and ``precision_`` from
    its net, whose forward passes stay fp32. A newer state is returned as it is.
    """
    state = dict(state)
    if "precision" not in state and state.get("trainable_layers") in (None, "all"):
        state["trainable_layers"] = "deprecated"
    added = {
        "label_smoothing": 0.0,
        "class_weight": None,  # added by edf2d97, after the others
        "precision": "fp32",
        "lr_schedule": None,
        "warmup_epochs": 1.0,
        "monitor": "valid_loss",
        "image_cache_mb": 1024,
        "weight_decay": 0.01 if state.get("optimizer") == "adamw" else 0.0,
    }
    for name, value in added.items():
        state.setdefault(name, value)
    if "net_" in state:
        state.setdefault("history_", state["net_"].history)
        state.setdefault("n_epochs_", len(state["history_"]))
        state.setdefault("precision_", "fp32")
    return state
