"""PretrainedEmbedder: output frame, determinism, weights, errors, pooling, persistence."""

import io
import urllib.error

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from skcovid.embedders import PretrainedEmbedder, clear_embedding_cache
from skcovid.modules import strip_classifier


def _emb(**kwargs):
    params = dict(image_size=32, random_state=0, device="cpu", batch_size=5)
    params.update(kwargs)
    return PretrainedEmbedder(**params)


def test_output_frame_keeps_index_order_and_passthrough(small_scans):
    X, _ = small_scans
    out = _emb().fit(X).transform(X)
    names = [f"emb_{i}" for i in range(512)]
    assert list(out.columns) == names + ["modality", "patient"]
    assert list(out.columns) == list(_emb().fit(X).get_feature_names_out())
    assert out.index.equals(X.index)
    assert (out[names].dtypes == np.float32).all()
    assert out["modality"].tolist() == X["modality"].tolist()
    assert out["patient"].tolist() == X["patient"].tolist()
    # row order: embedding a reversed table gives the reversed rows
    reversed_out = _emb().fit(X).transform(X.iloc[::-1])
    np.testing.assert_allclose(reversed_out[names].to_numpy()[::-1], out[names].to_numpy(),
                               rtol=1e-4, atol=1e-5)


def test_array_input_and_set_output(small_scans):
    X, _ = small_scans
    images = np.stack(X["image"].tolist())
    emb = _emb().fit(images)
    frame = emb.transform(images)
    assert list(frame.columns) == [f"emb_{i}" for i in range(512)]
    assert frame.index.equals(pd.RangeIndex(len(images)))
    array = emb.set_output(transform="default").transform(images)
    assert isinstance(array, np.ndarray) and array.dtype == np.float32 and array.shape == (len(images), 512)
    np.testing.assert_array_equal(array, frame.to_numpy())
    assert isinstance(emb.set_output(transform="pandas").transform(images), pd.DataFrame)


def test_missing_passthrough_column_at_transform(small_scans):
    X, _ = small_scans
    emb = _emb().fit(X)
    with pytest.raises(ValueError, match="present at fit time"):
        emb.transform(X.drop(columns="modality"))
    # patient only groups rows in fit: new scans need none
    anonymous = emb.transform(X.drop(columns="patient"))
    assert "patient" not in anonymous.columns and anonymous.index.equals(X.index)


def test_same_seed_same_embeddings_other_seed_differs(small_scans):
    X, _ = small_scans
    first = _emb(random_state=7).fit(X).transform(X)
    clear_embedding_cache()  # make the second fit build its own network
    second = _emb(random_state=7).fit(X).transform(X)
    other = _emb(random_state=8).fit(X).transform(X)
    pd.testing.assert_frame_equal(first, second)
    assert not np.allclose(first.iloc[:, :512], other.iloc[:, :512])


def test_unseeded_networks_differ(small_scans):
    X, _ = small_scans
    a = _emb(random_state=None).fit(X)
    b = _emb(random_state=None).fit(X)
    assert a.network_key_ != b.network_key_


def test_weights_from_local_checkpoint(small_scans, tmp_path):
    X, _ = small_scans
    import torchvision

    torch.manual_seed(3)
    source = torchvision.models.resnet18()
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    emb = _emb(weights=str(path), random_state=None).fit(X)
    expected_model, _ = strip_classifier(source)
    with torch.inference_mode():
        expected = expected_model.eval()(torch.from_numpy(emb.preprocessor_.transform(X))).numpy()
    out = emb.set_output(transform="default").transform(X)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    assert "file:" in emb.network_key_


def test_offline_download_error_explains_local_file(small_scans, monkeypatch):
    X, _ = small_scans

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(RuntimeError, match="weights='path/to/checkpoint.pth'"):
        _emb(weights="IMAGENET1K_V1").fit(X)


def test_bad_backbone_weights_and_params(small_scans):
    X, _ = small_scans
    with pytest.raises(ValueError, match="Unknown backbone 'resnet19'"):
        _emb(backbone="resnet19").fit(X)
    with pytest.raises(ValueError, match="Unknown weights"):
        _emb(weights="NOT_A_WEIGHT").fit(X)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        _emb(weights="/nowhere/missing.pth").fit(X)
    with pytest.raises(ValueError, match="'cache' parameter of PretrainedEmbedder"):
        _emb(cache=3).fit(X)
    with pytest.raises(ValueError, match="'pooling' parameter"):
        _emb(pooling="median").fit(X)


@pytest.mark.parametrize(
    ("backbone", "size", "width"),
    [("resnet50", 32, 2048), ("densenet121", 32, 1024), ("efficientnet_b0", 32, 1280),
     ("convnext_tiny", 32, 768), ("vit_b_16", 224, 768)],
)
def test_backbones_by_name(small_scans, backbone, size, width):
    X, _ = small_scans
    out = _emb(backbone=backbone, image_size=size).fit(X).transform(X.iloc[:2])
    assert out.shape == (2, width + 2)
    assert np.isfinite(out.iloc[:, :width].to_numpy()).all()


@pytest.mark.parametrize("backbone", ["resnet18", "densenet121"])
def test_max_and_avgmax_pooling(small_scans, backbone):
    X, _ = small_scans
    outs = {p: _emb(backbone=backbone, pooling=p).fit(X).set_output(transform="default").transform(X)
            for p in ("avg", "max", "avgmax")}
    assert outs["max"].shape == outs["avg"].shape
    assert (outs["max"] >= outs["avg"] - 1e-5).all()
    np.testing.assert_allclose(outs["avgmax"], 0.5 * (outs["avg"] + outs["max"]), rtol=1e-4, atol=1e-5)


def test_unsupported_pooling_names_the_fix(small_scans):
    X, _ = small_scans
    with pytest.raises(ValueError, match="pooling='avg'"):
        _emb(backbone="alexnet", pooling="max").fit(X)


def test_clone_and_pickle_round_trip(small_scans):
    X, _ = small_scans
    emb = _emb().fit(X)
    assert clone(emb).get_params() == emb.get_params()
    buffer = io.BytesIO()
    joblib.dump(emb, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    pd.testing.assert_frame_equal(loaded.transform(X), emb.transform(X))


def test_unreadable_scan_names_the_file(small_scans, tmp_path):
    from skcovid.preprocessing import ScanReadError

    X, _ = small_scans
    emb = _emb(cache=tmp_path).fit(X)
    broken = X.iloc[:2].copy()
    broken["image"] = [X["image"].iloc[0], str(tmp_path / "missing.png")]
    with pytest.raises(ScanReadError, match="missing.png"):
        emb.transform(broken)
