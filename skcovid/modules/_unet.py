"""A residual UNet with a classification head and a segmentation head, and its multi-task loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._heads import MLPHead


class ResidualUnit(nn.Module):
    """``conv3x3-BN-ReLU-dropout-conv3x3-BN`` plus a (projected) shortcut, then ReLU.

    Parameters
    ----------
    in_channels, out_channels : int
    stride : int, default=1
        Stride of the first convolution (2 halves the resolution).
    dropout : float, default=0.0
        Dropout rate between the two convolutions.
    """

    def __init__(self, in_channels, out_channels, stride=1, dropout=0.0):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout) if dropout else nn.Identity(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        if stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


class MultiTaskUNetModule(nn.Module):
    """Residual UNet encoder-decoder with a class head and a lung-mask head.

    The encoder has one :class:`ResidualUnit` per entry of ``channels`` (the first at full
    resolution, each next one with stride 2). The decoder upsamples with transposed
    convolutions, concatenates the skip connection and applies a residual unit; its last
    stage gives a ``2 * channels[0]``-channel map at full resolution (64 channels by
    default). The segmentation head maps it to one channel
    (``conv3x3-BN-ReLU`` to ``channels[0]``, then ``conv1x1``); the classification head
    global-average-pools the bottleneck and applies an :class:`MLPHead` with batch norm.
    Inputs whose size is not a multiple of ``2 ** (len(channels) - 1)`` are zero-padded and
    the mask is cropped back.

    Parameters
    ----------
    in_channels : int, default=1
    n_classes : int, default=2
    channels : sequence of int, default=(32, 64, 128, 256, 512)
        Widths of the encoder levels.
    dropout : float, default=0.1
        Dropout inside the residual units.
    head_hidden : sequence of int, default=(256, 128)
    head_dropout : float or sequence of float, default=(0.5, 0.3, 0.2)
    random_state : int, optional
        Seeds the initialisation.

    Notes
    -----
    ``forward(x)`` returns ``(class_logits, mask_logits)`` of shapes ``(N, n_classes)``
    and ``(N, 1, H, W)``; apply a sigmoid to the mask logits for lung probabilities.

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules._unet import MultiTaskUNetModule
    >>> net = MultiTaskUNetModule(1, 3, channels=(4, 8, 16)).eval()
    >>> logits, masks = net(torch.zeros(2, 1, 30, 30))
    >>> tuple(logits.shape), tuple(masks.shape)
    ((2, 3), (2, 1, 30, 30))
    """

    def __init__(self, in_channels=1, n_classes=2, channels=(32, 64, 128, 256, 512), dropout=0.1,
                 head_hidden=(256, 128), head_dropout=(0.5, 0.3, 0.2), random_state=None):
        super().__init__()
        if random_state is not None:
            torch.manual_seed(int(random_state) % (2**31))
        channels = [int(c) for c in channels]
        if len(channels) < 2 or min(channels) < 1:
            raise ValueError(f"channels needs at least 2 positive widths; got {channels}.")
        self.multiple = 2 ** (len(channels) - 1)
        self.encoder = nn.ModuleList(
            ResidualUnit(in_channels if i == 0 else channels[i - 1], width, stride=1 if i == 0 else 2,
                         dropout=dropout)
            for i, width in enumerate(channels)
        )
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        below = channels[-1]
        for level in range(len(channels) - 2, -1, -1):
            width = channels[level]
            out = 2 * width if level == 0 else width
            self.up.append(nn.ConvTranspose2d(below, width, 2, stride=2))
            self.decoder.append(ResidualUnit(2 * width, out, dropout=dropout))
            below = out
        self.seg_head = nn.Sequential(
            nn.Conv2d(below, channels[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels[0], 1, 1),
        )
        self.cls_head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            MLPHead(channels[-1], n_classes, hidden=head_hidden, dropout=head_dropout, batch_norm=True),
        )

    @property
    def cam_target_layer(self):
        """Default Grad-CAM target (a ``get_submodule`` name): the bottleneck the class head pools."""
        return f"encoder.{len(self.encoder) - 1}"

    def forward(self, x):
        height, width = x.shape[-2:]
        pad_h, pad_w = (-height) % self.multiple, (-width) % self.multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        skips = []
        for unit in self.encoder:
            x = unit(x)
            skips.append(x)
        class_logits = self.cls_head(x)
        for up, unit, skip in zip(self.up, self.decoder, reversed(skips[:-1])):
            x = unit(torch.cat([up(x), skip], dim=1))
        mask_logits = self.seg_head(x)
        if pad_h or pad_w:
            mask_logits = mask_logits[..., :height, :width]
        return class_logits, mask_logits


def soft_dice_loss(mask_logits, masks, smooth=1.0):
    """Per-sample soft Dice loss ``1 - (2 sum(p m) + s) / (sum(p) + sum(m) + s)``; shape (N,)."""
    probs = torch.sigmoid(mask_logits).flatten(1)
    masks = masks.flatten(1).to(probs.dtype)
    overlap = (probs * masks).sum(1)
    return 1.0 - (2.0 * overlap + smooth) / (probs.sum(1) + masks.sum(1) + smooth)


class MultiTaskLoss(nn.Module):
    """``seg_weight * (Dice + BCE) + cls_weight * CE`` with per-sample mask skipping.

    The target is ``(y, mask, has_mask)`` as given by
    :class:`skcovid.preprocessing.ScanDataset` with ``with_masks=True``. The segmentation
    terms are averaged over the rows with ``has_mask == 1`` only; a batch without any mask
    contributes exactly zero segmentation loss (and zero gradient to the mask head).

    Parameters
    ----------
    seg_weight : float, default=1.0
    cls_weight : float, default=2.0
    class_weight : sequence of float, optional
        Per-class weights of the cross-entropy.
    smooth : float, default=1.0
        Smoothing constant of the soft Dice loss.

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules._unet import MultiTaskLoss
    >>> loss = MultiTaskLoss()
    >>> logits, masks = torch.zeros(2, 2), torch.zeros(2, 1, 4, 4)
    >>> target = (torch.tensor([0, 1]), torch.ones(2, 1, 4, 4), torch.zeros(2))
    >>> round(float(loss((logits, masks), target)), 4)  # only 2 * CE(ln 2)
    1.3863
    """

    def __init__(self, seg_weight=1.0, cls_weight=2.0, class_weight=None, smooth=1.0):
        super().__init__()
        self.seg_weight = float(seg_weight)
        self.cls_weight = float(cls_weight)
        self.smooth = float(smooth)
        weight = None if class_weight is None else torch.as_tensor(class_weight, dtype=torch.float32)
        self.register_buffer("class_weight", weight)

    def segmentation_loss(self, mask_logits, masks, has_mask):
        """Mean of per-sample Dice + BCE over the rows that have a mask (0 when none has)."""
        masks = masks.to(mask_logits.dtype)
        has_mask = has_mask.to(mask_logits.dtype).reshape(-1)
        bce = F.binary_cross_entropy_with_logits(mask_logits, masks, reduction="none").flatten(1).mean(1)
        per_sample = soft_dice_loss(mask_logits, masks, self.smooth) + bce
        return (per_sample * has_mask).sum() / has_mask.sum().clamp(min=1.0)

    def forward(self, outputs, target):
        class_logits, mask_logits = outputs
        y, masks, has_mask = target
        cls = F.cross_entropy(class_logits, y.long(), weight=self.class_weight)
        return self.cls_weight * cls + self.seg_weight * self.segmentation_loss(mask_logits, masks, has_mask)
