"""MLPHead and BackboneMLPClassifier: shapes, dropout layout, layer freezing."""

import pytest
import torch
import torchvision
from torch import nn

from skcovid.modules import FocalLoss
from skcovid.modules._heads import BackboneMLPClassifier, MLPHead


def _classifier(freeze):
    return BackboneMLPClassifier("resnet18", 3, hidden=(8,), freeze=freeze, random_state=0)


def test_mlp_head_layout_and_shapes():
    head = MLPHead(16, 4, hidden=(8, 6), dropout=(0.5, 0.3, 0.2), batch_norm=True)
    linears = [m for m in head if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(16, 8), (8, 6), (6, 4)]
    assert [m.p for m in head if isinstance(m, nn.Dropout)] == [0.5, 0.3, 0.2]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in head) == 2
    assert head(torch.zeros(3, 16)).shape == (3, 4)
    assert len(MLPHead(16, 2, hidden=(), dropout=0.0)) == 1  # a single linear layer
    with pytest.raises(ValueError, match="one per linear layer"):
        MLPHead(16, 2, hidden=(8,), dropout=(0.1, 0.2, 0.3))


@pytest.mark.parametrize(
    "freeze, frozen_prefixes",
    [
        ("backbone", ("",)),
        (3, ("conv1.", "bn1.", "layer1.")),  # the stages conv1, bn1, layer1
        (["conv1", "layer2.0"], ("conv1.", "layer2.0.")),
        (None, ()),
    ],
)
def test_freeze_sets_requires_grad(freeze, frozen_prefixes):
    model = _classifier(freeze)
    for name, param in model.backbone.named_parameters():
        expected = any(name.startswith(p) for p in frozen_prefixes)
        assert param.requires_grad is not expected, name
    assert all(p.requires_grad for p in model.head.parameters())
    assert len(model.frozen_parameters) == sum(not p.requires_grad for p in model.parameters())


def test_frozen_batch_norm_stays_in_eval_mode():
    model = _classifier(["bn1", "layer1"]).train()
    assert not model.backbone.bn1.training and not model.backbone.layer1[0].bn1.training
    assert model.backbone.layer2[0].bn1.training
    before = model.backbone.bn1.running_mean.clone()
    model(torch.randn(4, 3, 32, 32))
    assert torch.equal(model.backbone.bn1.running_mean, before)
    assert not model.eval().backbone.layer2[0].bn1.training


@pytest.mark.parametrize("freeze, match",
                         [(["layer9"], "not layers"), (99, "between 0"), ("all", "use None")])
def test_bad_freeze(freeze, match):
    with pytest.raises(ValueError, match=match):
        _classifier(freeze)


def test_backbone_instance_is_stripped():
    model = BackboneMLPClassifier(torchvision.models.resnet18(), 4, hidden=(), random_state=0)
    assert isinstance(model.backbone.fc, nn.Identity)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 4)


def test_cam_target_layer_is_last_conv():
    model = _classifier(None)
    assert model.cam_target_layer == "backbone.layer4.1.conv2"
    assert isinstance(model.get_submodule(model.cam_target_layer), nn.Conv2d)


def test_focal_loss_equals_cross_entropy_at_gamma_zero():
    torch.manual_seed(0)
    logits, target = torch.randn(8, 3), torch.randint(0, 3, (8,))
    assert torch.allclose(FocalLoss(gamma=0.0)(logits, target), nn.functional.cross_entropy(logits, target))
    multi = torch.randint(0, 2, (8, 3)).float()
    assert torch.allclose(FocalLoss(gamma=0.0, multilabel=True)(logits, multi),
                          nn.functional.binary_cross_entropy_with_logits(logits, multi))
    assert FocalLoss(gamma=2.0)(logits, target) < nn.functional.cross_entropy(logits, target)
