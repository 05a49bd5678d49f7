import urllib.error

import pytest
import torch

from skcovid.modules import build_backbone, strip_classifier, weights_identity


@pytest.mark.parametrize(
    ("name", "width"), [("resnet18", 512), ("densenet121", 1024), ("efficientnet_b0", 1280)]
)
def test_strip_classifier_returns_pooled_features(name, width):
    model, n_features = strip_classifier(build_backbone(name, random_state=0))
    assert n_features == width
    with torch.inference_mode():
        assert model.eval()(torch.zeros(2, 3, 64, 64)).shape == (2, width)


def test_random_init_is_seeded():
    a = build_backbone("resnet18", random_state=3).conv1.weight
    b = build_backbone("resnet18", random_state=3).conv1.weight
    c = build_backbone("resnet18", random_state=4).conv1.weight
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_local_checkpoint(tmp_path):
    source = build_backbone("resnet18", random_state=1)
    path = tmp_path / "r18.pth"
    torch.save(source.state_dict(), path)
    loaded = build_backbone("resnet18", weights=str(path), random_state=2)
    assert torch.equal(loaded.conv1.weight, source.conv1.weight)
    # a checkpoint without the classifier still loads (fine-tuned heads differ)
    headless = {k: v for k, v in source.state_dict().items() if not k.startswith("fc.")}
    torch.save(headless, tmp_path / "headless.pth")
    assert torch.equal(
        build_backbone("resnet18", weights=tmp_path / "headless.pth").layer1[0].conv1.weight,
        source.layer1[0].conv1.weight,
    )
    assert weights_identity(path).startswith("file:") and weights_identity(None) == "random"


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_backbone("resnet18", weights=tmp_path / "missing.pth")
    torch.save(build_backbone("resnet18").state_dict(), tmp_path / "r18.pth")
    with pytest.raises(ValueError, match="does not fit"):
        build_backbone("densenet121", weights=tmp_path / "r18.pth")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(ValueError, match="Cannot load checkpoint"):
        build_backbone("resnet18", weights=tmp_path / "junk.pth")


def test_unknown_names():
    with pytest.raises(ValueError, match="Unknown backbone 'resnet19'"):
        build_backbone("resnet19")
    with pytest.raises(ValueError, match="Unknown weights 'IMAGENET9'"):
        build_backbone("resnet18", weights="IMAGENET9")


def test_offline_download_error_explains_local_file(monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: "/nonexistent-cache")
    with pytest.raises(RuntimeError, match="weights='path/to/checkpoint.pth'"):
        build_backbone("resnet18", weights="DEFAULT")


def test_scan_cnn_by_name_strips_freezes_and_learns():
    """skcovid's from-scratch network behaves like a torchvision backbone, and it learns."""
    from skcovid.modules import BackboneMLPClassifier, ScanCNN, backbone_stages

    model, n_features = strip_classifier(build_backbone("scan_cnn", random_state=0))
    assert isinstance(model, ScanCNN) and n_features == 128
    assert torch.equal(build_backbone("scan_cnn", random_state=0).stem[0].weight,
                       build_backbone("scan_cnn", random_state=0).stem[0].weight)
    assert [name for name, _ in backbone_stages(model)] == ["stem", "layer1", "layer2", "layer3", "layer4"]
    net = BackboneMLPClassifier("scan_cnn", freeze=2, random_state=0)
    assert not any(p.requires_grad for p in net.backbone.layer1.parameters())
    assert all(p.requires_grad for p in net.backbone.layer2.parameters())
    # a bright square in the centre or not: a few steps of Adam separate the classes
    torch.manual_seed(0)
    x = torch.rand(32, 3, 32, 32) * 0.2
    y = torch.arange(32) % 2
    x[y == 1, :, 12:20, 12:20] += 1.0
    net = BackboneMLPClassifier("scan_cnn", random_state=0)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(net.train()(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    with torch.inference_mode():
        assert (net.eval()(x).argmax(1) == y).float().mean() > 0.9


def test_scan_cnn_weights(tmp_path):
    with pytest.raises(ValueError, match="'scan_cnn' has no published weights"):
        build_backbone("scan_cnn", weights="DEFAULT")
    source = build_backbone("scan_cnn", random_state=1)
    torch.save(source.state_dict(), tmp_path / "cnn.pth")
    loaded = build_backbone("scan_cnn", weights=tmp_path / "cnn.pth", random_state=2)
    assert torch.equal(loaded.layer4[0].weight, source.layer4[0].weight)
