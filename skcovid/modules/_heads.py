"""Classification heads and a backbone + head classifier with layer freezing."""

from __future__ import annotations

import torch
from torch import nn

from ._backbones import strip_classifier
from ._embedding_heads import freeze_backbone, frozen_prefixes, prepare_backbone


def _per_layer(value, n, name):
    values = [float(value)] * n if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) != n:
        raise ValueError(f"{name} needs 1 or {n} values (one per linear layer); got {len(values)}.")
    if any(not 0.0 <= v < 1.0 for v in values):
        raise ValueError(f"{name} values must lie in [0, 1); got {values}.")
    return values


class MLPHead(nn.Sequential):
    """A fully connected classification head: ``[Dropout, Linear, (BN), ReLU] * k, Dropout, Linear``.

    Parameters
    ----------
    in_features : int
        Size of the input feature vector (the pooled backbone features).
    n_outputs : int
        Number of logits.
    hidden : sequence of int, default=(256,)
        Sizes of the hidden layers; ``()`` gives a single linear layer.
    dropout : float or sequence of float, default=0.5
        Dropout before each linear layer: one value for all, or ``len(hidden) + 1`` values
        (e.g. ``(0.5, 0.3, 0.2)`` with ``hidden=(256, 128)``).
    batch_norm : bool, default=False
        Batch normalisation after each hidden linear layer.

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules._heads import MLPHead
    >>> MLPHead(16, 3, hidden=(8,))(torch.zeros(2, 16)).shape
    torch.Size([2, 3])
    """

    def __init__(self, in_features, n_outputs, hidden=(256,), dropout=0.5, batch_norm=False):
        hidden = [int(h) for h in hidden]
        rates = _per_layer(dropout, len(hidden) + 1, "dropout")
        layers = []
        size = int(in_features)
        for width, rate in zip(hidden, rates):
            if rate:
                layers.append(nn.Dropout(rate))
            layers.append(nn.Linear(size, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU(inplace=True))
            size = width
        if rates[-1]:
            layers.append(nn.Dropout(rates[-1]))
        layers.append(nn.Linear(size, int(n_outputs)))
        super().__init__(*layers)


class BackboneMLPClassifier(nn.Module):
    """A feature backbone followed by an :class:`MLPHead`, with optional layer freezing.

    Parameters
    ----------
    backbone : str or torch.nn.Module, default="resnet18"
        A torchvision classification model name (or ``"scan_cnn"``, :class:`ScanCNN`), or such a
        model; its final linear layer
        is removed so that it gives pooled features.
    n_outputs : int, default=2
        Number of logits.
    weights : None, str or path-like, default=None
        For a backbone name: as :func:`skcovid.modules.build_backbone`.
    hidden, dropout, batch_norm
        Passed to :class:`MLPHead`.
    freeze : None, "backbone", int or list of str, default=None
        Which backbone parameters to freeze (``requires_grad=False``): none; all of them
        (only the head trains); the first *n* stages of
        :func:`skcovid.modules.backbone_stages` (for ResNets ``conv1``,
        ``bn1``, ``layer1`` ... ``layer4``); or every
        parameter whose name (relative to the backbone, e.g. ``"layer1"`` or
        ``"features.0"``) starts with one of the given prefixes. Batch-norm layers inside
        frozen parts stay in eval mode during training, so their running statistics are
        not updated either.
    random_state : int, optional
        Seeds the initialisation of the backbone (when built by name) and of the head.

    Attributes
    ----------
    frozen_parameters : list of str
        Names of the frozen backbone parameters.
    """

    def __init__(self, backbone="resnet18", n_outputs=2, *, weights=None, hidden=(256,), dropout=0.5,
                 batch_norm=False, freeze=None, random_state=None):
        super().__init__()
        if isinstance(backbone, str):
            backbone, n_features = prepare_backbone(backbone, weights=weights, random_state=random_state)
        else:
            if random_state is not None:
                torch.manual_seed(int(random_state) % (2**31))
            backbone, n_features = strip_classifier(backbone)
        self.backbone = backbone
        self.head = MLPHead(n_features, n_outputs, hidden=hidden, dropout=dropout, batch_norm=batch_norm)
        self.frozen_parameters, self._frozen_norms = freeze_backbone(
            self.backbone, frozen_prefixes(self.backbone, freeze))

    def train(self, mode=True):
        """Set train/eval mode; batch-norm layers of frozen parts always stay in eval mode."""
        super().train(mode)
        for name in self._frozen_norms:
            self.backbone.get_submodule(name).eval()
        return self

    def forward(self, x):
        return self.head(self.backbone(x))

    @property
    def cam_target_layer(self):
        """Name (for ``get_submodule``) of the last convolution: a default Grad-CAM target."""
        return last_conv_name(self)


def last_conv_name(module):
    """The name of the last ``nn.Conv2d`` of ``module`` in registration order (or None)."""
    name = None
    for module_name, child in module.named_modules():
        if isinstance(child, nn.Conv2d):
            name = module_name
    return name
