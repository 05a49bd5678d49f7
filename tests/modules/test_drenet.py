"""DRENetModule: ResNet + FPN levels, per-level logits, attention over levels."""

import pytest
import torch
import torchvision

from skcovid.modules._drenet import DRENetModule, ResNetFPN


@pytest.fixture(scope="module")
def drenet():
    return DRENetModule("resnet18", 3, fpn_channels=16, head_channels=8, random_state=0).eval()


def test_levels_and_shapes(drenet):
    features = drenet.backbone(torch.zeros(2, 3, 64, 64))
    assert [tuple(f.shape[-2:]) for f in features] == [(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)]
    assert all(f.shape[1] == 16 for f in features)
    out = drenet.forward_details(torch.randn(2, 3, 64, 64))
    assert out["logits"].shape == (2, 3)
    assert out["level_logits"].shape == (2, 5, 3)


def test_attention_sums_to_one_and_weights_the_levels(drenet):
    out = drenet.forward_details(torch.randn(4, 3, 64, 64))
    attention = out["attention"]
    assert attention.shape == (4, 5)
    assert torch.allclose(attention.sum(1), torch.ones(4), atol=1e-6)
    assert (attention > 0).all()
    expected = (attention[..., None] * out["level_logits"]).sum(1)
    assert torch.allclose(out["logits"], expected, atol=1e-6)
    assert not torch.allclose(attention[0], attention[1])  # per sample, not a fixed weighting


def test_fpn_on_bottleneck_resnet_widths():
    fpn = ResNetFPN(torchvision.models.resnet50(), fpn_channels=8)
    assert fpn.fpn.inner_blocks[0][0].in_channels == 256
    assert fpn.fpn.inner_blocks[-1][0].in_channels == 2048


def test_non_resnet_backbone_is_rejected():
    with pytest.raises(ValueError, match="ResNet-family"):
        DRENetModule("mobilenet_v3_small", 2)
