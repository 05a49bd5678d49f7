"""ScanCNN: a small VGG-style network meant to be trained from random initialisation."""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(in_channels, out_channels, stride=1):
    return [
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class ScanCNN(nn.Module):
    """A small VGG-style CNN for training from scratch on scans at 64-256 px.

    A stride-2 stem convolution, then four stages of two 3x3 convolutions (each followed
    by batch normalisation and ReLU) and a 2x2 max-pooling, with ``width``, 2, 4 and 8 times
    ``width`` channels; global average pooling, dropout and a linear classifier. At
    ``width=16`` it has 0.3 M parameters and, at 128 px, about a ninth of resnet18's
    multiply-adds (63 M against 592 M), so a CPU trains it for tens of epochs in minutes: the
    from-scratch choice when no pretrained weights can be downloaded. Build it by name,
    ``build_backbone("scan_cnn")``, or use ``backbone="scan_cnn"`` in the image estimators.

    Its layout follows torchvision's classification models: top-level stages ``stem``,
    ``layer1`` ... ``layer4`` (so ``freeze=k`` freezes the first *k*), an ``avgpool`` module
    and a final linear layer ``fc`` (which :func:`strip_classifier` removes).

    Parameters
    ----------
    num_classes : int, default=1000
        Outputs of ``fc`` (torchvision's keyword, so the estimators build it like theirs).
    in_channels : int, default=3
        Image channels (the estimators replicate a grey scan to 3).
    width : int, default=16
        Channels of the stem and first stage.
    dropout : float, default=0.3
        Dropout rate before ``fc``.

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules import ScanCNN
    >>> ScanCNN(num_classes=2)(torch.zeros(4, 3, 64, 64)).shape
    torch.Size([4, 2])
    """

    def __init__(self, num_classes=1000, in_channels=3, width=16, dropout=0.3):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn_relu(in_channels, width, stride=2))
        widths = [width, width, 2 * width, 4 * width, 8 * width]
        for k in range(1, 5):
            stage = [*_conv_bn_relu(widths[k - 1], widths[k]), *_conv_bn_relu(widths[k], widths[k]),
                     nn.MaxPool2d(2)]
            self.add_module(f"layer{k}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(widths[-1], num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


# backbones of skcovid's own, buildable by name beside torchvision's
LOCAL_BACKBONES = {"scan_cnn": ScanCNN}
