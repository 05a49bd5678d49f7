"""DRENetClassifier: outputs, attention over pyramid levels, persistence, errors."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone

from skcovid.datasets import make_synthetic_scans
from skcovid.nets import DRENetClassifier

TINY = {"weights": None, "fpn_channels": 8, "head_channels": 8, "image_size": 32, "max_epochs": 1,
        "batch_size": 8, "random_state": 0, "device": "cpu"}


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


@pytest.mark.parametrize(
    "params, match",
    [({"backbone": "mobilenet_v3_small"}, "ResNet-family"), ({"channels": 1}, "3-channel"),
     ({"fpn_channels": 0}, "fpn_channels")],
)
def test_bad_input(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        DRENetClassifier(**{**TINY, "backbone": "resnet18", **params}).fit(X, y)
