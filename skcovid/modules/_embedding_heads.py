"""Backbones prepared for embedding and fine-tuning: global pooling, stages, a dense head."""

from __future__ import annotations

from numbers import Integral

from torch import nn
from torch.nn import functional as F

from ._backbones import build_backbone, strip_classifier

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)

POOLINGS = ("avg", "max", "avgmax")

# Containers whose children are the stages of a torchvision backbone (``features`` of
# DenseNet/VGG/EfficientNet/ConvNeXt/MobileNet/Swin, ``trunk_output`` of RegNet, ``blocks``
# of MaxViT, ``layers`` of MNASNet and of ViT's encoder, ``encoder`` of ViT).
_STAGE_CONTAINERS = ("features", "trunk_output", "blocks", "layers", "encoder")


class GlobalPool2d(nn.Module):
    """Global spatial pooling to ``(N, C, 1, 1)``: average, maximum, or their mean.

    Parameters
    ----------
    mode : {"avg", "max", "avgmax"}, default="avg"
        ``"avgmax"`` is ``0.5 * (avg + max)`` (timm's convention); the channel count is kept.
    """

    def __init__(self, mode="avg"):
        super().__init__()
        if mode not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}; got {mode!r}.")
        self.mode = mode

    def forward(self, x):
        if self.mode == "avg":
            return F.adaptive_avg_pool2d(x, 1)
        if self.mode == "max":
            return F.adaptive_max_pool2d(x, 1)
        return 0.5 * (F.adaptive_avg_pool2d(x, 1) + F.adaptive_max_pool2d(x, 1))

    def extra_repr(self):
        return f"mode={self.mode!r}"


def _drop_auxiliary_heads(model):
    """Inception v3 and GoogLeNet return auxiliary logits in training mode: remove them."""
    if getattr(model, "aux_logits", False):
        model.aux_logits = False
        for name in ("AuxLogits", "aux1", "aux2"):
            if hasattr(model, name):
                setattr(model, name, None)
    return model


def prepare_backbone(name, *, weights=None, random_state=None):
    """Build a torchvision classifier and remove its head; return ``(model, n_features)``.

    The model maps ``(N, 3, H, W)`` images to their pooled penultimate features
    (auxiliary heads of Inception/GoogLeNet are dropped).
    """
    model = _drop_auxiliary_heads(build_backbone(name, weights=weights, random_state=random_state))
    return strip_classifier(model)


def set_global_pooling(model, pooling):
    """Replace the global average pooling of a stripped CNN by ``GlobalPool2d(pooling)``.

    ``"avg"`` keeps the network's own pooling. ``"max"`` and ``"avgmax"`` are supported for
    networks whose global pooling is a top-level ``avgpool`` module with output size 1
    (ResNet/ResNeXt/Wide ResNet, EfficientNet, ConvNeXt, MobileNet, RegNet, Swin, GoogLeNet,
    Inception) and for DenseNet; VGG, AlexNet (7x7 pooling then dense layers) and
    transformers without spatial pooling (ViT, MaxViT) raise a ``ValueError``.
    """
    if pooling == "avg":
        return model
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}.")
    from torchvision.models import DenseNet

    if isinstance(model, DenseNet):  # DenseNet pools functionally in forward
        pool = GlobalPool2d(pooling)
        return nn.Sequential(model.features, nn.ReLU(), pool, nn.Flatten(1), model.classifier)
    pool = getattr(model, "avgpool", None)
    if isinstance(pool, nn.AdaptiveAvgPool2d) and pool.output_size in (1, (1, 1)):
        model.avgpool = GlobalPool2d(pooling)
        return model
    raise ValueError(
        f"pooling={pooling!r} is not supported for {type(model).__name__}: it has no global average "
        "pooling module to replace (VGG/AlexNet pool to 7x7 before dense layers; ViT/MaxViT use a "
        "token). Use pooling='avg' (the network's own pooling)."
    )


def backbone_stages(model):
    """The backbone's stages in forward order, as a list of ``(name, module)``.

    A stage is a top-level child holding parameters; the containers ``features``,
    ``trunk_output``, ``blocks``, ``layers`` and ``encoder`` are expanded into their
    children (so DenseNet's dense blocks, EfficientNet's MBConv stages or ViT's encoder
    blocks count as stages, as ResNet's ``conv1``, ``bn1``, ``layer1`` ... ``layer4`` do).
    """
    stages = []

    def visit(prefix, module):
        for name, child in module.named_children():
            full = f"{prefix}{name}"
            if not any(True for _ in child.parameters()):
                continue
            if name in _STAGE_CONTAINERS and any(True for _ in child.children()):
                visit(full + ".", child)
            else:
                stages.append((full, child))

    visit("", model)
    return stages


class BackboneClassifier(nn.Module):
    """A torchvision backbone followed by dense(hidden) -> leaky ReLU -> class logits.

    Parameters
    ----------
    backbone : str, default="resnet18"
        Any torchvision classification model name, or ``"scan_cnn"`` (:class:`ScanCNN`).
    weights : None, str or path-like
        Passed to :func:`build_backbone`.
    hidden : int or None, default=1280
        Width of the dense layer; None connects the logits to the backbone features directly.
    n_classes : int, default=2
        Number of output logits.
    trainable_layers : int, "all" or None, default="all"
        How many of the last :func:`backbone_stages` are trained; the other stages are
        frozen (no gradient, and kept in eval mode so that their batch-norm statistics do not
        move). ``0`` trains the head only; ``"all"`` or None trains everything; more than
        the number of stages trains every stage. Parameters outside the stages (ViT's class
        token and position embedding) are trained only with ``"all"``.
    freeze : None, "backbone", int or list of str, default=None
        The vocabulary of :class:`BackboneMLPClassifier` (and
        ``ImageClassifier``): nothing, the whole backbone, its first *n* stages, or the
        layers named (prefixes of the parameter names, e.g. ``"layer1"``). Frozen
        parameters get no gradient and frozen batch-norm layers stay in eval mode. Give either ``freeze`` or
        ``trainable_layers``, not both.
    negative_slope : float, default=0.01
        Slope of the leaky ReLU.
    random_state : int, optional
        Seeds the initialisation.

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules._embedding_heads import BackboneClassifier
    >>> net = BackboneClassifier("resnet18", hidden=8, trainable_layers=1, random_state=0).eval()
    >>> net(torch.zeros(2, 3, 32, 32)).shape, net.embed(torch.zeros(1, 3, 32, 32)).shape
    (torch.Size([2, 2]), torch.Size([1, 8]))
    """

    def __init__(self, backbone="resnet18", *, weights=None, hidden=1280, n_classes=2,
                 trainable_layers="all", negative_slope=0.01, random_state=None, freeze=None):
        super().__init__()
        self.backbone, n_features = prepare_backbone(backbone, weights=weights, random_state=random_state)
        self.n_backbone_features = n_features
        if hidden is None:
            self.dense, self.activation, width = nn.Identity(), nn.Identity(), n_features
        else:
            self.dense, self.activation, width = (
                nn.Linear(n_features, hidden), nn.LeakyReLU(negative_slope), hidden
            )
        self.logits = nn.Linear(width, n_classes)
        self.n_embedding = width
        if freeze is not None and trainable_layers not in (None, "all"):
            raise ValueError(f"freeze={freeze!r} and trainable_layers={trainable_layers!r} both say which "
                             "layers are frozen; give only freeze (trainable_layers='all').")
        if freeze is None:
            self.frozen_stages = self._freeze(trainable_layers)
        else:
            _, self.frozen_stages = freeze_backbone(self.backbone, frozen_prefixes(self.backbone, freeze))


    def _freeze(self, trainable_layers):
        if trainable_layers is None or trainable_layers == "all":
            return []
        stages = backbone_stages(self.backbone)
        valid = isinstance(trainable_layers, int) and not isinstance(trainable_layers, bool)
        if not valid or trainable_layers < 0:
            raise ValueError(
                f"trainable_layers must be a non-negative int, 'all' or None; got {trainable_layers!r}."
            )
        first_trained = max(len(stages) - trainable_layers, 0) if trainable_layers else len(stages)
        keep = {name for name, _ in stages[first_trained:]}
        for parameter in self.backbone.parameters():  # parameters outside stages stay frozen too
            parameter.requires_grad_(False)
        frozen = []
        for name, stage in stages:
            if name in keep:
                stage.requires_grad_(True)
            else:
                frozen.append(name)
        return frozen

    def train(self, mode=True):
        """Set the training mode; frozen stages always stay in eval mode."""
        super().train(mode)
        for name in self.frozen_stages:
            self.backbone.get_submodule(name).eval()
        return self

    def embed(self, x):
        """The penultimate embedding: the leaky-ReLU activation of the dense layer."""
        return self.activation(self.dense(self.backbone(x)))

    def forward(self, x):
        return self.logits(self.embed(x))


class EmbeddingView(nn.Module):
    """Expose ``module.embed`` as the forward of a module (shares the parameters)."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module.embed(x)


def frozen_prefixes(backbone, freeze):
    """Parameter-name prefixes of ``backbone`` that ``freeze`` names (the one freezing vocabulary).

    ``freeze`` is None (nothing), "backbone" (everything: prefix ``""``), an int *n* (the
    first *n* :func:`backbone_stages`) or a list of layer names (nested names such as
    ``"layer1.0"`` work). Prefixes end with a dot.
    """
    if freeze is None:
        return []
    stages = backbone_stages(backbone)
    if isinstance(freeze, str):
        if freeze != "backbone":
            raise ValueError(f"freeze={freeze!r}: use None, 'backbone', an int or a list of layer names.")
        return [""]
    if isinstance(freeze, Integral) and not isinstance(freeze, bool):
        if not 0 <= freeze <= len(stages):
            raise ValueError(f"freeze={freeze} must be between 0 and the {len(stages)} backbone stages "
                             f"{[n for n, _ in stages]}.")
        return [name + "." for name, _ in stages[:freeze]]
    names = [str(p).rstrip(".") for p in freeze]
    known = dict(backbone.named_modules())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"freeze names {unknown} are not layers of the backbone; its stages are "
                         f"{[n for n, _ in stages]} (nested names such as 'layer1.0' work too).")
    return [n + "." for n in names]


def freeze_backbone(backbone, prefixes):
    """Turn off the gradients of ``backbone``'s parameters under ``prefixes``.

    Returns
    -------
    frozen_parameters : list of str
        Names of the frozen parameters.
    frozen_norms : list of str
        Names of the batch-norm layers under ``prefixes``: a module keeps them in eval mode
        (so their running statistics stay fixed) whatever its own mode.
    """
    frozen = []
    for name, parameter in backbone.named_parameters():
        if _matches(name, prefixes):
            parameter.requires_grad_(False)
            frozen.append(name)
    norms = [name for name, module in backbone.named_modules()
             if isinstance(module, _BATCH_NORMS) and name and _matches(name + ".", prefixes)]
    return frozen, norms


def _matches(name, prefixes):
    return any(prefix == "" or name.startswith(prefix) for prefix in prefixes)
