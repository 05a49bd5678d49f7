"""Torch pieces of the embedders: global pooling, backbone stages, the dense head."""

import pytest
import torch

from skcovid.modules._embedding_heads import (
    BackboneClassifier,
    EmbeddingView,
    GlobalPool2d,
    backbone_stages,
    prepare_backbone,
)


def test_global_pool_modes():
    x = torch.arange(8.0).reshape(1, 2, 2, 2)
    assert GlobalPool2d("avg")(x).flatten().tolist() == [1.5, 5.5]
    assert GlobalPool2d("max")(x).flatten().tolist() == [3.0, 7.0]
    assert GlobalPool2d("avgmax")(x).flatten().tolist() == [2.25, 6.25]
    with pytest.raises(ValueError, match="pooling"):
        GlobalPool2d("median")


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [("resnet18", "conv1", "layer4"), ("densenet121", "features.conv0", "features.norm5"),
     ("efficientnet_b0", "features.0", "features.8")],
)
def test_backbone_stages(name, first, last):
    model, _ = prepare_backbone(name, random_state=0)
    names = [n for n, _ in backbone_stages(model)]
    assert names[0] == first and names[-1] == last


def test_trainable_layers_freeze_and_keep_eval_mode():
    net = BackboneClassifier("resnet18", hidden=4, trainable_layers=1, random_state=0).train()
    assert all(p.requires_grad for p in net.backbone.layer4.parameters())
    assert not any(p.requires_grad for p in net.backbone.layer3.parameters())
    assert not net.backbone.layer3.training and net.backbone.layer4.training
    assert all(p.requires_grad for p in net.logits.parameters())
    everything = BackboneClassifier("resnet18", hidden=None, trainable_layers="all", random_state=0)
    assert all(p.requires_grad for p in everything.parameters())
    assert everything.n_embedding == 512
    many = BackboneClassifier("resnet18", hidden=4, trainable_layers=99, random_state=0)
    assert all(p.requires_grad for p in many.backbone.parameters()) and not many.frozen_stages
    with pytest.raises(ValueError, match="trainable_layers"):
        BackboneClassifier("resnet18", trainable_layers=-1)


def test_embedding_view_shares_parameters():
    net = BackboneClassifier("resnet18", hidden=4, random_state=0).eval()
    x = torch.zeros(1, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(EmbeddingView(net)(x), net.embed(x))
    assert net(x).shape == (1, 2)
