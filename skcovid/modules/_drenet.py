"""DRENet: a ResNet + FPN backbone, per-level heads and attention over the levels."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ._backbones import build_backbone

_RESNET_PARTS = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")


def _out_channels(layer):
    """Output channels of a ResNet stage: the width of its last batch-norm layer."""
    norms = [m for m in layer.modules() if isinstance(m, nn.BatchNorm2d)]
    return norms[-1].num_features


class ResNetFPN(nn.Module):
    """A torchvision ResNet's stages ``layer1``..``layer4`` under a feature pyramid network.

    Returns five maps of ``fpn_channels`` channels (strides 4, 8, 16, 32 and a max-pooled
    64), like torchvision's detection backbone.

    Parameters
    ----------
    resnet : torchvision ResNet
        Any model with ``conv1``, ``bn1``, ``relu``, ``maxpool`` and ``layer1``..``layer4``
        (resnet18/34/50/101/152, resnext, wide_resnet).
    fpn_channels : int, default=256
    """

    def __init__(self, resnet, fpn_channels=256):
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork
        from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

        missing = [name for name in _RESNET_PARTS if not hasattr(resnet, name)]
        if missing:
            raise ValueError(
                f"DRENet needs a ResNet-family backbone (resnet18/34/50/101/152, resnext, wide_resnet); "
                f"{type(resnet).__name__} lacks {missing}."
            )
        self.stem = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = (
            resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4
        )
        widths = [_out_channels(getattr(self, f"layer{i}")) for i in range(1, 5)]
        self.fpn = FeaturePyramidNetwork(widths, int(fpn_channels), extra_blocks=LastLevelMaxPool())
        self.n_levels = 5

    def forward(self, x):
        x = self.stem(x)
        features = OrderedDict()
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
            features[f"p{i + 1}"] = x
        return list(self.fpn(features).values())


class DRENetModule(nn.Module):
    """Details Relation Extraction Network: per-level logits fused by per-sample attention.

    Each pyramid level goes through ``conv3x3-BN-ReLU-GAP`` to a ``head_channels`` vector and
    a linear layer to that level's class logits. An attention layer reads the concatenated
    level vectors and gives softmax weights over the levels for each sample; the output is
    the attention-weighted sum of the level logits.

    Parameters
    ----------
    backbone : str or torchvision ResNet, default="resnet50"
        A ResNet-family name for :func:`skcovid.modules.build_backbone`, or such a model
        (see :class:`ResNetFPN`).
    n_classes : int, default=2
    weights : None, str or path-like, default=None
        For a backbone name: as :func:`skcovid.modules.build_backbone`.
    fpn_channels : int, default=256
    head_channels : int, default=128
    random_state : int, optional
        Seeds the initialisation.

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules._drenet import DRENetModule
    >>> net = DRENetModule("resnet18", 2, fpn_channels=16, head_channels=8).eval()
    >>> out = net.forward_details(torch.zeros(1, 3, 64, 64))
    >>> tuple(out["logits"].shape), tuple(out["attention"].shape), tuple(out["level_logits"].shape)
    ((1, 2), (1, 5), (1, 5, 2))
    """

    def __init__(self, backbone="resnet50", n_classes=2, *, weights=None, fpn_channels=256, head_channels=128,
                 random_state=None):
        super().__init__()
        if isinstance(backbone, str):
            backbone = build_backbone(backbone, weights=weights, random_state=random_state)
        elif random_state is not None:
            torch.manual_seed(int(random_state) % (2**31))
        self.backbone = ResNetFPN(backbone, fpn_channels)
        levels = self.backbone.n_levels
        self.level_heads = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(fpn_channels, head_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(head_channels),
                nn.ReLU(inplace=True),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )
            for _ in range(levels)
        )
        self.level_classifiers = nn.ModuleList(nn.Linear(head_channels, n_classes) for _ in range(levels))
        self.attention = nn.Linear(levels * head_channels, levels)

    @property
    def cam_target_layer(self):
        """Default Grad-CAM target (a ``get_submodule`` name): the last ResNet stage."""
        return "backbone.layer4"

    def forward_details(self, x):
        """Return a dict with ``logits`` (N, C), ``level_logits`` (N, L, C) and ``attention`` (N, L)."""
        vectors = [head(feature) for head, feature in zip(self.level_heads, self.backbone(x))]
        level_logits = torch.stack([clf(v) for clf, v in zip(self.level_classifiers, vectors)], dim=1)
        attention = torch.softmax(self.attention(torch.cat(vectors, dim=1)), dim=1)
        logits = (attention.unsqueeze(-1) * level_logits).sum(dim=1)
        return {"logits": logits, "level_logits": level_logits, "attention": attention}

    def forward(self, x):
        return self.forward_details(x)["logits"]
