"""ImageClassifier: fine-tune a torchvision backbone with a new fully connected head."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve
from torch import nn

from ..modules import FocalLoss
from ..modules._heads import BackboneMLPClassifier
from ..utils._param_validation import Interval, StrOptions
from ._base import CLASS_WEIGHT_CONSTRAINT, BaseImageNet, shared_params


def f1_thresholds(y_true, proba):
    """Per-label thresholds maximising the F1 score (0.5 for a label without positives).

    Parameters
    ----------
    y_true : ndarray of shape (n_samples, n_labels), 0/1
    proba : ndarray of shape (n_samples, n_labels)

    Returns
    -------
    ndarray of shape (n_labels,)

    Examples
    --------
    >>> import numpy as np
    >>> f1_thresholds(np.array([[0], [1], [1]]), np.array([[0.2], [0.3], [0.9]]))
    array([0.3])
    """
    thresholds = np.full(y_true.shape[1], 0.5)
    for j in range(y_true.shape[1]):
        if not y_true[:, j].any():
            continue
        precision, recall, cuts = precision_recall_curve(y_true[:, j], proba[:, j])
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        thresholds[j] = cuts[int(np.argmax(f1[:-1]))]
    return thresholds


class ImageClassifier(BaseImageNet):
    """Fine-tune a torchvision classification backbone on scans, with a new fully connected head.

    The backbone's last linear layer is replaced by an :class:`~skcovid.modules.MLPHead`
    (``head_hidden`` hidden layers, e.g. two new fully connected layers). Parts of the backbone
    can be frozen, the loss can be cross-entropy or focal, classes can be weighted, and with
    ``multilabel=True`` each label gets its own sigmoid output (a scan can be both
    "Pneumonia" and "COVID"). Training runs through skorch with early stopping on a
    patient-grouped validation split of the training rows; the per-epoch ``train_loss``,
    ``valid_loss`` and ``valid_acc`` are in ``history_``. It works inside an
    imbalanced-learn pipeline after a ``RandomOverSampler`` (oversampling),
    which repeats rows of the scan table.

    Parameters
    ----------
    backbone : str, default="resnet18"
        A torchvision classification model name ("resnet18", "densenet121", "vgg16", ...), or
        ``"scan_cnn"`` (:class:`~skcovid.modules.ScanCNN`: a small network for training from
        random initialisation, with a ninth of resnet18's multiply-adds).
    weights : None, str or path-like, default=None
        As :func:`skcovid.modules.build_backbone`: None (random initialisation, so nothing is
        downloaded), a torchvision weight name ("DEFAULT", "IMAGENET1K_V1"; downloaded once
        into torch's cache), or a local ``state_dict`` file. Pretrained weights usually want
        a smaller ``lr`` (e.g. 1e-4).
    freeze : None, "backbone", int or list of str, default=None
        Backbone parameters to keep fixed: none; all (only the head trains); the first *n*
        stages (for ResNets ``conv1, bn1, layer1, ..., layer4``; for models with a
        ``features`` sequence its children ``features.0, features.1, ...``); or the layers
        named (prefixes such as ``["conv1", "bn1", "layer1"]``; the
        staged unfreezing is a sequence of fits with shorter lists). Frozen parameters get
        ``requires_grad=False`` and frozen batch-norm layers stay in eval mode, so neither
        weights nor running statistics change.
    head_hidden : tuple of int, default=(256,)
        Hidden layer sizes of the new head (``()`` for a single linear layer).
    head_dropout : float or tuple of float, default=0.3
        Dropout before each linear layer of the head.
    loss : {"cross_entropy", "focal"}, default="cross_entropy"
        Cross-entropy (BCE-with-logits when ``multilabel``) or focal loss.
    label_smoothing : float, default=0.0
        Label smoothing of the single-label cross-entropy (torch's ``label_smoothing``; 0.1
        is the recipe's value): the target puts ``1 - label_smoothing`` on the true class and
        spreads the rest evenly. Not available with focal loss or ``multilabel``.
    focal_gamma : float, default=2.0
        Focusing parameter of the focal loss (0 gives cross-entropy).
    focal_alpha : None, float or sequence of float, default=None
        Focal-loss weights: one per class (single-label; a float ``a`` for two classes means
        ``[1 - a, a]``), or the positive weight in [0, 1] for every label (``multilabel``).
        Multiplied with ``class_weight`` when both are given (single-label). Weighted focal
        loss averages over scans, whereas torch's weighted cross-entropy divides by the sum
        of the weights: at ``focal_gamma=0`` the two agree only without weights.
    class_weight : None, "balanced" or dict, default=None
        Class weights of the loss (single-label); with ``multilabel`` and
        cross-entropy the weight of each label's positives (``"balanced"``: negatives / positives).
    multilabel : bool, default=False
        ``y`` is a 0/1 label-indicator matrix (2-D array, or a DataFrame whose columns name
        the labels); outputs are independent sigmoids.
    threshold : float, array-like or "tune", default=0.5
        Multi-label only: probability threshold per label (a scalar for all, or one per
        label). ``"tune"`` picks, after training, each label's threshold maximising F1 on the
        early-stopping validation split (needs ``validation_fraction``); see also
        :meth:`tune_thresholds`. The thresholds used are in ``thresholds_``.
    image_size, clahe, ct_opening, channels, normalize
        Preprocessing, as :class:`~skcovid.preprocessing.ScanPreprocessor` (torchvision
        backbones need ``channels=3``).
    augment : None, "default", "recipe", callable or dict, default=None
        Training-time augmentation of the preprocessed tensors: ``"default"`` is
        :class:`ScanAugment` (rotation up to 10 degrees, 5 % shifts, 0.95-1.05 zoom, no
        horizontal flip); ``"recipe"`` the from-scratch recipe's per-modality augmentation
        (random resized crop, rotation, shifts, brightness/contrast jitter, horizontal flips
        for CT only, rows without a modality as X-rays); any callable
        ``tensor -> tensor``; or a dict ``{modality: callable}``.
    max_epochs, lr, batch_size, optimizer, weight_decay, device, callbacks, num_workers
        Training settings (skorch; defaults ``max_epochs=10``, ``lr=1e-3``, ``batch_size=32``,
        ``optimizer="adamw"``, ``weight_decay=0``, shared with
        :class:`~skcovid.embedders.FineTunedEmbedder`); ``optimizer`` is "adamw", "adam" or "sgd"
        (momentum 0.9);
        ``callbacks`` are extra skorch callbacks; ``num_workers`` decode images in parallel.
    checkpoint : None, str or path-like, default=None
        Folder that makes an interrupted ``fit`` resumable. After every epoch the weights,
        optimizer, history, random-generator states and early-stopping state are saved in
        a subfolder named after the class and a digest of the parameters and training data
        (so the fits of a grid search do not share one). Calling ``fit`` again with the
        same parameters and data resumes at the next epoch and runs only the remaining
        ones, ending (on the CPU, with the same thread count) with the same weights as an
        uninterrupted fit. A fit that completes deletes its subfolder. Needs an int
        ``random_state``.
    random_state : int, RandomState or None, default=None
        Seeds initialisation, shuffling, augmentation and the validation split. On the CPU,
        two fits with the same ``random_state``, data and number of torch threads
        (:func:`torch.get_num_threads`) give identical weights. A different thread count
        adds numbers in a different order and training amplifies the difference (a small
        DRENet trained for 12 epochs on 1 and on 2 threads gave probabilities up to 0.17
        apart): to repeat a fit elsewhere, set the same count first, e.g.
        ``torch.set_num_threads(1)``. Fits on a GPU are not guaranteed to be repeatable.
    validation_fraction : float or None, default=0.1
        Share of training patients held out for early stopping; None trains all epochs on all rows.
    patience : int or None, default=5
        Epochs without a better validation score (see ``monitor``) before stopping (the best
        epoch is restored).
    precision : {"fp32", "bf16", "auto"}, default="fp32"
        Numeric precision of the forward passes (training and inference). "bf16" runs them
        under :func:`torch.autocast` in bfloat16 (losses stay fp32); "auto" picks bf16 where
        the hardware runs it natively (CPUs with AVX-512 BF16 or AMX, CUDA GPUs with bf16) and
        fp32 elsewhere. On CPUs without bf16 instructions torch emulates bf16, which is slower
        than fp32. The precision used is in ``precision_``. In either precision, on the CPU,
        module and inputs use the channels-last memory format (faster convolutions; a network
        with a 1x1 stride-2 convolution over fewer than 16 channels keeps the default one).
    lr_schedule : None, "cosine" or "onecycle", default=None
        Per-batch learning-rate schedule (skorch's ``LRScheduler``): "cosine" warms up
        linearly over ``warmup_epochs`` then decays to 0 along a cosine (torch's
        ``LinearLR`` + ``CosineAnnealingLR``); "onecycle" is torch's ``OneCycleLR`` peaking at
        ``lr`` after ``warmup_epochs``. The schedule spans ``max_epochs``; early stopping may
        end it sooner. The per-batch rate is in ``history_`` (``event_lr``).
    warmup_epochs : float, default=1.0
        Warm-up length of ``lr_schedule`` in epochs (fractions allowed).
    monitor : {"valid_loss", "valid_auc"}, default="valid_loss"
        The early-stopping score: the validation loss (lower is better) or the ROC AUC of
        the validation rows (higher is better; one-vs-rest for several classes, macro for
        multi-label).
    image_cache_mb : float, default=1024
        Keep up to this many MiB of decoded, resized training and validation images in
        memory between epochs (the rest is decoded every epoch). A 224 px 3-channel image
        takes 0.6 MiB, a 64 px one 48 KiB. The cache lives only during ``fit``; 0 turns it
        off, and it is off with ``num_workers`` > 0 (worker processes would each hold a
        copy that dies with them).
    verbose : int, default=0

    Attributes
    ----------
    classes_ : ndarray
        Class labels (or label names with ``multilabel``).
    module_ : torch.nn.Module
        The trained network: images (N, C, H, W) to logits (N, n_classes).
    preprocessor_ : ScanPreprocessor
    device_ : str
    net_ : skorch.NeuralNet
    history_ : skorch.History
        ``train_loss``, ``valid_loss``, ``valid_acc``, ``valid_auc`` per epoch.
    precision_ : {"fp32", "bf16"}
        The precision ``precision`` resolved to.
    thresholds_ : ndarray of shape (n_labels,)
        Multi-label decision thresholds.
    fit_interrupted_ : bool
        True when the last ``fit`` was stopped by Ctrl-C: ``fit`` then raised
        :class:`KeyboardInterrupt`, the partly trained network is kept, and ``predict`` and
        saving warn.

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans
    >>> from skcovid.nets import ImageClassifier
    >>> data = make_synthetic_scans(16, image_size=32, random_state=0)
    >>> clf = ImageClassifier(weights=None, image_size=32, max_epochs=1, random_state=0)
    >>> clf.fit(data.data, data.target).predict_proba(data.data).shape
    (16, 2)
    """

    _parameter_constraints = {
        **BaseImageNet._parameter_constraints,
        "backbone": [str],
        "weights": [None, str, os.PathLike],
        "freeze": [None, StrOptions({"backbone"}), Interval(Integral, 0, None, closed="left"), list, tuple],
        "head_hidden": [tuple, list],
        "head_dropout": [Interval(Real, 0, 1, closed="left"), tuple, list],
        "loss": [StrOptions({"cross_entropy", "focal"})],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "focal_gamma": [Interval(Real, 0, None, closed="left")],
        "focal_alpha": [None, Interval(Real, 0, 1, closed="both"), "array-like"],
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
        "multilabel": ["boolean"],
        "threshold": [Interval(Real, 0, 1, closed="both"), "array-like", StrOptions({"tune"})],
    }

    def __init__(self, backbone="resnet18", *, weights=None, freeze=None, head_hidden=(256,),
                 head_dropout=0.3, loss="cross_entropy", label_smoothing=0.0, focal_gamma=2.0,
                 focal_alpha=None, class_weight=None, multilabel=False, threshold=0.5, image_size=224,
                 clahe=False, ct_opening=0, channels=3, normalize="imagenet", augment=None, max_epochs=10,
                 lr=1e-3, batch_size=32, optimizer="adamw", weight_decay=0.0, device="auto", callbacks=None,
                 checkpoint=None, num_workers=0, random_state=None, validation_fraction=0.1, patience=5,
                 precision="fp32", lr_schedule=None, warmup_epochs=1.0, monitor="valid_loss",
                 image_cache_mb=1024, verbose=0):
        super().__init__(**shared_params(locals()))
        self.backbone = backbone
        self.weights = weights
        self.freeze = freeze
        self.head_hidden = head_hidden
        self.head_dropout = head_dropout
        self.loss = loss
        self.label_smoothing = label_smoothing
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.class_weight = class_weight
        self.multilabel = multilabel
        self.threshold = threshold

    # ----------------------------------------------------------------- fit hooks
    def _check_table(self, table):
        self._require_rgb()
        if isinstance(self.freeze, bool):
            raise ValueError("freeze must be None, 'backbone', an int or a list of layer names; got a bool.")
        if self.label_smoothing and (self.multilabel or self.loss == "focal"):
            raise ValueError(f"label_smoothing={self.label_smoothing} applies to single-label "
                             "cross-entropy only; set label_smoothing=0 with multilabel=True or "
                             "loss='focal'.")
        if not self.multilabel and not (isinstance(self.threshold, Real) and self.threshold == 0.5):
            raise ValueError("threshold only applies with multilabel=True; single-label predictions take "
                             "the most probable class (use skcovid.metrics thresholds on predict_proba).")
        if self.multilabel and isinstance(self.threshold, str) and not self.validation_fraction:
            raise ValueError("threshold='tune' picks thresholds on the validation split: set "
                             "validation_fraction (e.g. 0.2), or call tune_thresholds(X_val, y_val) "
                             "after fit.")
        return table

    def _encode_targets(self, y):
        if not self.multilabel:
            return super()._encode_targets(y)
        names = list(y.columns) if isinstance(y, pd.DataFrame) else None
        y = np.asarray(y)
        if y.ndim != 2 or not np.isin(y, (0, 1)).all():
            raise ValueError(
                f"multilabel=True needs y as a 0/1 label-indicator matrix (n_scans, n_labels); got shape "
                f"{y.shape}{' with values other than 0/1' if y.ndim == 2 else ''}. "
                "sklearn.preprocessing.MultiLabelBinarizer turns label lists into one."
            )
        self.classes_ = np.asarray(names, dtype=object) if names is not None else np.arange(y.shape[1])
        per_label = not isinstance(self.threshold, str) and np.ndim(self.threshold) == 1
        if per_label and len(self.threshold) != y.shape[1]:
            raise ValueError(f"threshold has {len(self.threshold)} values but y has {y.shape[1]} labels; "
                             "give one threshold per label (or a scalar).")
        return y.astype(np.float32)

    def _alpha(self, weights):
        alpha = self.focal_alpha
        if alpha is not None and np.ndim(alpha) == 0:
            if len(self.classes_) != 2:
                raise ValueError(f"A scalar focal_alpha needs 2 classes; give one weight per class for "
                                 f"{len(self.classes_)}.")
            alpha = [1.0 - float(alpha), float(alpha)]
        if alpha is not None and len(alpha) != len(self.classes_):
            raise ValueError(f"focal_alpha has {len(alpha)} weights but there are {len(self.classes_)} "
                             "classes.")
        if alpha is None:
            return weights
        alpha = np.asarray(alpha, dtype=np.float32)
        return alpha if weights is None else alpha * weights

    def _build_criterion(self, y):
        if not self.multilabel:
            if self.loss == "focal":
                weights = self._class_weights(y, self.class_weight)
                return FocalLoss(self.focal_gamma, alpha=self._alpha(weights))
            return self._weighted_cross_entropy(y, self.label_smoothing)
        if self.loss == "focal":
            if self.class_weight is not None or (self.focal_alpha is not None and np.ndim(self.focal_alpha)):
                raise ValueError("With multilabel=True and loss='focal', weight labels with a scalar "
                                 "focal_alpha (positive weight); class_weight applies to cross-entropy.")
            return FocalLoss(self.focal_gamma, alpha=self.focal_alpha, multilabel=True)
        return nn.BCEWithLogitsLoss(pos_weight=self._positive_weights(y))

    def _positive_weights(self, y):
        import torch

        if self.class_weight is None:
            return None
        if self.class_weight == "balanced":
            positives = y.sum(0)
            return torch.from_numpy(((len(y) - positives) / np.maximum(positives, 1)).astype(np.float32))
        known = set(self.classes_.tolist())
        unknown = [k for k in self.class_weight if k not in known]
        if unknown:
            raise ValueError(f"class_weight names labels {unknown} that are not among {list(self.classes_)}.")
        return torch.tensor([float(self.class_weight.get(c, 1.0)) for c in self.classes_])

    def _build_module(self, seed):
        return BackboneMLPClassifier, {
            "backbone": self.backbone, "n_outputs": len(self.classes_), "weights": self.weights,
            "hidden": self.head_hidden, "dropout": self.head_dropout, "freeze": self.freeze,
            "random_state": seed,
        }

    def _after_fit(self, table, y, valid_idx):
        if not self.multilabel:
            return
        if isinstance(self.threshold, str):
            self.tune_thresholds(table.iloc[valid_idx], y[valid_idx])
            return
        thresholds = np.broadcast_to(np.asarray(self.threshold, dtype=np.float64), (len(self.classes_),))
        self.thresholds_ = np.array(thresholds)

    # ----------------------------------------------------------------- multi-label outputs
    def tune_thresholds(self, X, y):
        """Set ``thresholds_`` to each label's F1-maximising threshold on held-out scans (multi-label).

        Parameters
        ----------
        X : scan table or images
            Held-out scans (not the training rows).
        y : array-like of shape (n_scans, n_labels)
            Their 0/1 label indicators.

        Returns
        -------
        self
        """
        if not self.multilabel:
            raise ValueError("tune_thresholds applies to multilabel=True only.")
        y = np.asarray(y)
        if y.shape != (len(X), len(self.classes_)):
            raise ValueError(f"y must have shape ({len(X)}, {len(self.classes_)}); got {y.shape}.")
        self.thresholds_ = f1_thresholds(y, self.predict_proba(X))
        return self

    def predict_proba(self, X):
        """Class probabilities (n_scans, n_classes); with ``multilabel``, each label's sigmoid."""
        if not self.multilabel:
            return super().predict_proba(X)
        return 1.0 / (1.0 + np.exp(-self._logits(X)))

    def decision_function(self, X):
        """Logits (see :meth:`BaseImageNet.decision_function`); per label with ``multilabel``."""
        return self._logits(X) if self.multilabel else super().decision_function(X)

    def predict(self, X):
        """Labels of ``classes_``; with ``multilabel`` a 0/1 matrix (n_scans, n_labels) by ``thresholds_``."""
        if not self.multilabel:
            return super().predict(X)
        return (self.predict_proba(X) >= self.thresholds_).astype(np.int64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = bool(self.multilabel)
        return tags
