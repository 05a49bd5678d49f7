"""A FineTunedEmbedder saved before a1102f8 (its own skorch net, ``trainable_layers``) loads and works.

The files in ``data/`` were written by ``data/make_old_finetuned.py`` with the skcovid of
a1102f8~1; the ``.npz`` holds the scans and the old code's embeddings and probabilities.
"""

import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from skcovid.embedders import FineTunedEmbedder
from skcovid.persistence import ModelVersionWarning, dump, load

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def recorded():
    saved = np.load(DATA / "old_finetuned.npz")
    X = pd.DataFrame({"image": list(saved["images"]), "modality": "xray", "patient": saved["patients"]})
    return X, saved


def _load_skcovid():
    with pytest.warns(ModelVersionWarning, match="older skcovid.*content_sha256"):  # format 1
        return load(DATA / "old_finetuned.skcovid")


def _load_joblib():
    return joblib.load(DATA / "old_finetuned.pkl")


@pytest.fixture(params=[_load_skcovid, _load_joblib], ids=["dump", "joblib"])
def old(request):
    return request.param()


def assert_as_saved(model, X, saved):
    out = model.transform(X)
    assert list(out.columns) == [f"emb_{i}" for i in range(8)] + ["modality", "patient"]
    np.testing.assert_allclose(out.iloc[:, :8].to_numpy(), saved["embedding"], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(model.predict_proba(X), saved["proba"], rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(model.predict(X), saved["predicted"])


def test_old_file_gives_the_numbers_it_gave_when_saved(old, recorded):
    X, saved = recorded
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no AttributeError, and nothing to warn about either
        assert_as_saved(old, X, saved)
    np.testing.assert_array_equal(old.classes_, ["COVID", "Non_COVID"])
    assert old.module_ is old.net_.module_ and not old.module_.training
    assert (old.n_epochs_, old.precision_) == (1, "fp32") and old.history_ is old.net_.history


def test_old_file_speaks_todays_vocabulary_and_refits(old, recorded):
    X, saved = recorded
    params = old.get_params()
    assert set(params) == set(FineTunedEmbedder().get_params())
    # the parameters added since, with the values the old version trained with (Adam: no weight decay)
    expected = dict(
        label_smoothing=0.0,
        class_weight=None,
        weight_decay=0.0,
        precision="fp32",
        lr_schedule=None,
        monitor="valid_loss",
        optimizer="adam",
        freeze=None,
        trainable_layers=2,
    )
    assert {name: params[name] for name in expected} == expected
    # the tiny backbone of the file exists only in its generator: refit with a real one
    refit = clone(old).set_params(backbone="resnet18", device="cpu")
    with pytest.warns(FutureWarning, match="trainable_layers=2 is deprecated.*use freeze"):
        refit.fit(X, saved["labels"])
    assert refit.module_.frozen_stages == ["conv1", "bn1", "layer1", "layer2"]  # the last 2 of 6 train


def test_old_file_saved_again_round_trips(old, recorded, tmp_path):
    X, saved = recorded
    again = load(dump(old, tmp_path / "again.skcovid"))
    assert_as_saved(again, X, saved)
    assert again.get_params()["trainable_layers"] == 2


def _upgraded(state):
    upgraded = FineTunedEmbedder.__new__(FineTunedEmbedder)
    upgraded.__setstate__(state)
    return upgraded


def test_old_defaults_map_to_todays():
    state = _load_joblib().__dict__ | {"trainable_layers": "all", "optimizer": "adamw"}
    for name in ("precision", "weight_decay", "label_smoothing"):
        del state[name]
    upgraded = _upgraded(state)
    # "all" trained everything, as the deprecated default does; torch's AdamW decayed weights by 0.01
    assert (upgraded.trainable_layers, upgraded.weight_decay) == ("deprecated", 0.01)
    assert upgraded.precision == "fp32"


def test_a_file_from_before_class_weight_loads_and_keeps_its_parameters(recorded):
    X, saved = recorded
    model = _load_joblib()
    state = model.__dict__ | {"trainable_layers": "all"}  # set explicitly after a1102f8: it stays
    del state["class_weight"]  # added after the others
    upgraded = _upgraded(state)
    assert upgraded.class_weight is None and upgraded.trainable_layers == "all"
    assert upgraded.get_params() == model.get_params() | {"trainable_layers": "all"}
    assert_as_saved(upgraded, X, saved)
