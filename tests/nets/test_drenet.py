"""DRENetClassifier: outputs, attention over pyramid levels, persistence, errors."""

import joblib
import numpy as np
import pytest
import torch
import torchvision
from sklearn.base import clone
from skorch.callbacks import Callback

from skcovid.datasets import make_synthetic_scans
from skcovid.nets import DRENetClassifier

TINY = {
    "weights": None,
    "fpn_channels": 8,
    "head_channels": 8,
    "image_size": 32,
    "max_epochs": 1,
    "batch_size": 8,
    "random_state": 0,
    "device": "cpu",
}


class StartingWeights(Callback):
    """Copy the module's weights when training begins."""

    def on_train_begin(self, net, **kwargs):
        self.weights = {name: weight.detach().clone() for name, weight in net.module_.named_parameters()}


@pytest.fixture(scope="module")
def data():
    bunch = make_synthetic_scans(24, modalities="ct", image_size=40, random_state=5)
    return bunch.data, bunch.target.to_numpy()


@pytest.fixture(scope="module")
def fitted(data):
    return DRENetClassifier("resnet18", class_weight="balanced", **TINY).fit(*data)


def test_outputs_and_attention(fitted, data):
    X, _ = data
    assert list(fitted.classes_) == ["COVID", "Non_COVID"]
    assert fitted.predict(X).shape == (24,)
    proba = fitted.predict_proba(X)
    assert proba.shape == (24, 2) and np.allclose(proba.sum(1), 1)
    attention = fitted.attention_weights(X)
    assert attention.shape == (24, 5) and np.allclose(attention.sum(1), 1) and (attention > 0).all()
    levels = fitted.predict_level_proba(X)
    assert levels.shape == (24, 5, 2) and np.allclose(levels.sum(2), 1)
    with torch.no_grad():
        logits = fitted.module_(torch.from_numpy(fitted.preprocessor_.transform(X.iloc[:2])))
    assert np.allclose(torch.softmax(logits, 1).numpy(), proba[:2], atol=1e-5)
    assert fitted.module_.get_submodule(fitted.module_.cam_target_layer) is fitted.module_.backbone.layer4
    assert "valid_acc" in fitted.history_[-1]


def test_joblib_round_trip_and_clone(fitted, data, tmp_path):
    X, _ = data
    joblib.dump(fitted, tmp_path / "drenet.joblib")
    loaded = joblib.load(tmp_path / "drenet.joblib")
    assert np.array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert np.array_equal(loaded.attention_weights(X), fitted.attention_weights(X))
    assert clone(fitted).get_params() == fitted.get_params()


def test_defaults_start_from_random_weights(data, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("DRENetClassifier tried to download weights")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", no_download)
    params = DRENetClassifier().get_params()
    assert (params["backbone"], params["weights"], params["class_weight"]) == ("resnet50", None, None)
    tiny = {name: value for name, value in TINY.items() if name != "weights"}
    start = StartingWeights()
    model = DRENetClassifier("resnet18", **tiny, callbacks=[("start", start)]).fit(*data)
    assert model.net_.criterion_.weight is None
    optimizer = model.net_.optimizer_
    settings = {key: optimizer.defaults[key] for key in ("lr", "momentum", "weight_decay")}
    assert isinstance(optimizer, torch.optim.SGD)
    assert settings == {"lr": 2e-3, "momentum": 0.9, "weight_decay": 1e-4}
    trained = dict(model.module_.named_parameters())
    frozen = [name for name, weight in start.weights.items() if torch.equal(trained[name], weight)]
    assert frozen == []  # one epoch at the default learning rate moves every weight (lr=0 would move none)
    with pytest.raises(RuntimeError, match="tried to download"):  # the guard sees a download
        DRENetClassifier("resnet18", **{**tiny, "weights": "DEFAULT"}).fit(*data)


def test_balanced_class_weight_reaches_the_loss(fitted, data):
    _, y = data
    counts = np.array([(y == label).sum() for label in fitted.classes_])
    expected = len(y) / (len(counts) * counts)
    assert not np.allclose(expected, 1.0)  # 11 COVID, 13 Non_COVID: the weights differ from 1
    np.testing.assert_allclose(fitted.net_.criterion_.weight.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"backbone": "mobilenet_v3_small"}, "ResNet-family"),
        ({"channels": 1}, "3-channel"),
        ({"fpn_channels": 0}, "fpn_channels"),
    ],
)
def test_bad_input(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        DRENetClassifier(**{**TINY, "backbone": "resnet18", **params}).fit(X, y)
