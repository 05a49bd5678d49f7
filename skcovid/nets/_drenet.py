"""DRENetClassifier: ResNet + FPN with per-level heads fused by attention."""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np

from ..modules._drenet import DRENetModule
from ..utils._param_validation import Interval
from ._base import CLASS_WEIGHT_CONSTRAINT, BaseImageNet, shared_params


class DRENetClassifier(BaseImageNet):
    """DRENet (Details Relation Extraction Network) for CT or X-ray classification.

    A torchvision ResNet's four stages feed a feature pyramid network (five levels of
    ``fpn_channels`` channels: strides 4 to 32 and a max-pooled 64). Each level has its own
    ``conv3x3-BN-ReLU-GAP`` head and linear classifier giving per-level logits; an attention
    layer reads the pooled level features and gives each scan softmax weights over the
    levels; the prediction is the weighted sum of the level logits. The weights are
    available through :meth:`attention_weights`.

    Parameters
    ----------
    backbone : str, default="resnet50"
        A torchvision ResNet-family name ("resnet18" for small or test models, "resnet50", ...).
    weights : None, str or path-like, default=None
        Initial weights of the ResNet, as :func:`skcovid.modules.build_backbone`: None
        (random initialisation, so nothing is downloaded), a torchvision weight name
        ("DEFAULT", "IMAGENET1K_V1"; downloaded once into torch's cache), or a local
        ``state_dict`` file. The published model starts from ImageNet weights
        (``weights="DEFAULT"``).
    fpn_channels : int, default=256
        Channels of every pyramid level.
    head_channels : int, default=128
        Channels of the per-level heads.
    class_weight : None, "balanced" or dict, default=None
        Class weights of the cross-entropy.
    image_size, clahe, ct_opening, channels, normalize, augment, max_epochs, lr, batch_size, \
optimizer, weight_decay, device, callbacks, checkpoint, num_workers, random_state, validation_fraction, \
patience, precision, lr_schedule, warmup_epochs, monitor, image_cache_mb, verbose
        As :class:`ImageClassifier`; the defaults are SGD (lr 0.002, momentum
        0.9, weight decay 1e-4). ``ct_opening`` applies a grey opening to CT rows.

    Attributes
    ----------
    classes_, module_, preprocessor_, device_, net_, history_, fit_interrupted_
        As :class:`ImageClassifier`.

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans
    >>> from skcovid.nets import DRENetClassifier
    >>> data = make_synthetic_scans(12, modalities="ct", image_size=32, random_state=0)
    >>> model = DRENetClassifier("resnet18", fpn_channels=8, head_channels=8, image_size=32,
    ...                          max_epochs=1, random_state=0)
    >>> model.fit(data.data, data.target).attention_weights(data.data).shape
    (12, 5)
    """

    _parameter_constraints = {
        **BaseImageNet._parameter_constraints,
        "backbone": [str],
        "weights": [None, str, os.PathLike],
        "fpn_channels": [Interval(Integral, 1, None, closed="left")],
        "head_channels": [Interval(Integral, 1, None, closed="left")],
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
    }

    def __init__(self, backbone="resnet50", *, weights=None, fpn_channels=256, head_channels=128,
                 class_weight=None, image_size=224, clahe=False, ct_opening=0, channels=3,
                 normalize="imagenet", augment=None, max_epochs=10, lr=2e-3, batch_size=16, optimizer="sgd",
                 weight_decay=1e-4, device="auto", callbacks=None, checkpoint=None, num_workers=0,
                 random_state=None, validation_fraction=0.1, patience=5,
                 precision="fp32", lr_schedule=None, warmup_epochs=1.0, monitor="valid_loss",
                 image_cache_mb=1024, verbose=0):
        super().__init__(**shared_params(locals()))
        self.backbone = backbone
        self.weights = weights
        self.fpn_channels = fpn_channels
        self.head_channels = head_channels
        self.class_weight = class_weight

    def _check_table(self, table):
        self._require_rgb()
        return table

    def _build_module(self, seed):
        return DRENetModule, {
            "backbone": self.backbone, "n_classes": len(self.classes_), "weights": self.weights,
            "fpn_channels": self.fpn_channels, "head_channels": self.head_channels, "random_state": seed,
        }

    def _build_criterion(self, y):
        return self._weighted_cross_entropy(y)

    def attention_weights(self, X):
        """Per-scan attention weights over the five pyramid levels, shape (n_scans, 5); rows sum to 1."""
        batches = self._map_batches(X, lambda x: self.module_.forward_details(x)["attention"])
        return np.concatenate([b.numpy() for b in batches]).astype(np.float64)

    def predict_level_proba(self, X):
        """Each level's own class probabilities, shape (n_scans, 5, n_classes)."""
        import torch

        def level_proba(x):
            return torch.softmax(self.module_.forward_details(x)["level_logits"], -1)

        batches = self._map_batches(X, level_proba)
        return np.concatenate([b.numpy() for b in batches]).astype(np.float64)
