"""MultiTaskUNetModule and MultiTaskLoss: shapes, padding, per-sample mask skipping."""

import pytest
import torch
import torch.nn.functional as F

from skcovid.modules._unet import MultiTaskLoss, MultiTaskUNetModule, soft_dice_loss


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return MultiTaskUNetModule(in_channels=1, n_classes=3, channels=(4, 8, 16))


@pytest.mark.parametrize("size", [(32, 32), (30, 27)])
def test_shapes_any_size(unet, size):
    logits, masks = unet.eval()(torch.randn(2, 1, *size))
    assert logits.shape == (2, 3)
    assert masks.shape == (2, 1, *size)


def test_default_widths_follow_the_seed():
    net = MultiTaskUNetModule(3, 4)
    assert [u.body[0].out_channels for u in net.encoder] == [32, 64, 128, 256, 512]
    assert net.seg_head[0].in_channels == 64 and net.seg_head[0].out_channels == 32
    assert net.seg_head[-1].out_channels == 1
    assert net.get_submodule(net.cam_target_layer) is net.encoder[-1]


def test_bad_channels():
    with pytest.raises(ValueError, match="at least 2"):
        MultiTaskUNetModule(1, 2, channels=(8,))


def _batch(has_mask):
    torch.manual_seed(1)
    y = torch.tensor([0, 2, 1, 0])
    masks = (torch.rand(4, 1, 16, 16) > 0.5).float()
    return y, masks, torch.as_tensor(has_mask, dtype=torch.float32)


def test_maskless_batch_gives_exactly_the_classification_loss(unet):
    unet.train()
    x = torch.randn(4, 1, 16, 16)
    y, masks, has_mask = _batch([0, 0, 0, 0])
    loss_fn = MultiTaskLoss(seg_weight=1.0, cls_weight=2.0)
    unet.zero_grad()
    logits, mask_logits = outputs = unet(x)
    loss = loss_fn(outputs, (y, masks, has_mask))
    assert torch.equal(loss, 2.0 * F.cross_entropy(logits, y))
    loss.backward()
    seg_grads = [p.grad for p in unet.seg_head.parameters()]
    assert all(g is None or torch.count_nonzero(g) == 0 for g in seg_grads)
    assert any(torch.count_nonzero(p.grad) > 0 for p in unet.cls_head.parameters())


def test_segmentation_loss_averages_only_masked_rows():
    torch.manual_seed(2)
    mask_logits = torch.randn(4, 1, 16, 16)
    y, masks, has_mask = _batch([1, 0, 1, 0])
    loss_fn = MultiTaskLoss()
    mixed = loss_fn.segmentation_loss(mask_logits, masks, has_mask)
    only = loss_fn.segmentation_loss(mask_logits[[0, 2]], masks[[0, 2]], torch.ones(2))
    assert torch.allclose(mixed, only)
    bce = F.binary_cross_entropy_with_logits(mask_logits[[0, 2]], masks[[0, 2]])
    dice = soft_dice_loss(mask_logits[[0, 2]], masks[[0, 2]]).mean()
    assert torch.allclose(only, bce + dice)


def test_class_weights_enter_the_cross_entropy():
    logits, y = torch.randn(4, 3), torch.tensor([0, 2, 1, 0])
    weight = torch.tensor([1.0, 2.0, 0.5])
    loss = MultiTaskLoss(seg_weight=0.0, cls_weight=1.0, class_weight=weight)
    masks = torch.zeros(4, 1, 2, 2)
    assert torch.allclose(loss((logits, masks), (y, masks, torch.ones(4))),
                          F.cross_entropy(logits, y, weight=weight))


def test_perfect_mask_has_near_zero_dice_loss():
    masks = torch.zeros(1, 1, 8, 8)
    masks[..., 2:6, 2:6] = 1
    assert soft_dice_loss(masks * 40 - 20, masks).item() < 1e-3
