"""FineTunedEmbedder: training, embeddings, classifier API, freezing, persistence, real X-rays."""

import io

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.metrics import balanced_accuracy_score

from skcovid.embedders import FineTunedEmbedder
from skcovid.modules._embedding_heads import BackboneClassifier
from tests.utils.callbacks import Interrupt, Record

PARAMS = dict(hidden=8, image_size=32, max_epochs=2, batch_size=8, trainable_layers=1, device="cpu")


@pytest.fixture(scope="module")
def xrays(synthetic_scans):
    mask = (synthetic_scans.data["modality"] == "xray").to_numpy()
    X = synthetic_scans.data[mask].iloc[:36].copy()
    X.index = X.index + 1000
    return X, np.asarray(synthetic_scans.target)[mask][:36]


@pytest.fixture(scope="module")
def fitted(xrays):
    X, y = xrays
    return FineTunedEmbedder(random_state=0, **PARAMS).fit(X, y)


def test_embedding_frame_and_classifier_api(fitted, xrays):
    X, y = xrays
    out = fitted.transform(X)
    assert list(out.columns) == [f"emb_{i}" for i in range(8)] + ["modality", "patient"]
    assert out.index.equals(X.index) and (out.iloc[:, :8].dtypes == np.float32).all()
    values = out.iloc[:, :8].to_numpy()
    assert (values >= -0.01 * np.abs(values).max()).all()  # leaky ReLU
    assert is_classifier(fitted)
    assert set(fitted.classes_) == {"COVID", "Non_COVID"}
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(fitted.predict(X)) <= set(fitted.classes_)
    assert 0.0 <= fitted.score(X, y) <= 1.0


def test_image_estimator_contract(fitted, xrays):
    X, _ = xrays
    images = torch.from_numpy(fitted.preprocessor_.transform(X.iloc[:3]))
    assert isinstance(fitted.module_, BackboneClassifier)
    with torch.inference_mode():
        logits = fitted.module_.eval()(images)
    assert logits.shape == (3, 2)
    np.testing.assert_allclose(torch.softmax(logits, 1).numpy(), fitted.predict_proba(X.iloc[:3]), rtol=1e-4,
                               atol=1e-5)
    assert fitted.device_ == "cpu"
    assert fitted.preprocessor_.size_ == (32, 32)


def test_early_stopping_split_is_by_patient_from_training_rows(fitted, xrays):
    X, _ = xrays
    assert "valid_loss" in fitted.net_.history[-1]
    valid = fitted.net_.train_split.keywords["valid_ds"]  # skorch.helper.predefined_split
    valid_ids = {id(image) for image in valid.images}
    is_valid = np.array([id(image) in valid_ids for image in X["image"]])
    assert 0 < is_valid.sum() < len(X)
    assert not set(X["patient"][is_valid]) & set(X["patient"][~is_valid])


def test_same_seed_same_model(fitted, xrays):
    X, y = xrays
    again = FineTunedEmbedder(random_state=0, **PARAMS).fit(X, y)
    assert again.weights_fingerprint_ == fitted.weights_fingerprint_
    pd.testing.assert_frame_equal(again.transform(X), fitted.transform(X))


def test_ctrl_c_raises_then_a_checkpointed_fit_resumes_to_the_same_model(fitted, xrays, tmp_path):
    X, y = xrays
    interrupted = FineTunedEmbedder(random_state=0, checkpoint=tmp_path, **PARAMS,
                                    callbacks=[("interrupt", Interrupt(epoch=2))])
    with pytest.raises(KeyboardInterrupt, match="FineTunedEmbedder.fit was interrupted in epoch 2 of 2"):
        interrupted.fit(X, y)
    assert interrupted.fit_interrupted_ is True
    with pytest.warns(UserWarning, match="Embedding with FineTunedEmbedder whose fit was interrupted"):
        interrupted.transform(X.iloc[:2])
    record = Record()
    resumed = FineTunedEmbedder(random_state=0, checkpoint=tmp_path, **PARAMS,
                                callbacks=[("record", record)]).fit(X, y)
    assert resumed.fit_interrupted_ is False and record.epochs_run == 1
    assert resumed.weights_fingerprint_ == fitted.weights_fingerprint_
    assert list(tmp_path.iterdir()) == []


def test_frozen_stages_do_not_change(xrays):
    X, y = xrays
    params = {**PARAMS, "trainable_layers": 0, "max_epochs": 1, "validation_fraction": None}
    emb = FineTunedEmbedder(random_state=3, **params).fit(X, y)
    seed = emb.net_.module__random_state
    initial = BackboneClassifier("resnet18", hidden=8, trainable_layers=0, random_state=seed)
    for name, tensor in initial.backbone.state_dict().items():
        torch.testing.assert_close(emb.module_.backbone.state_dict()[name], tensor, msg=name)
    assert not torch.equal(initial.dense.weight, emb.module_.dense.weight)
    assert "valid_loss" not in emb.net_.history[-1]


def test_freeze_speaks_the_image_classifier_vocabulary(xrays):
    X, y = xrays
    params = {**PARAMS, "trainable_layers": "all", "max_epochs": 1, "validation_fraction": None}
    emb = FineTunedEmbedder(random_state=3, freeze=["conv1", "bn1", "layer1"], **params).fit(X, y)
    initial = BackboneClassifier("resnet18", hidden=8, random_state=emb.net_.module__random_state)
    trained, start = emb.module_.backbone.state_dict(), initial.backbone.state_dict()
    for name, tensor in start.items():  # frozen: weights and batch-norm statistics unchanged
        if name.split(".")[0] in {"conv1", "bn1", "layer1"}:
            torch.testing.assert_close(trained[name], tensor, msg=name)
    assert not torch.equal(trained["layer4.1.conv2.weight"], start["layer4.1.conv2.weight"])
    assert emb.module_.train().backbone.bn1.training is False and emb.module_.backbone.layer4.training
    # the same first stages as trainable_layers counts from the other end (resnet18: 6 stages)
    same = BackboneClassifier("resnet18", hidden=8, freeze=3, random_state=0)
    other = BackboneClassifier("resnet18", hidden=8, trainable_layers=3, random_state=0)
    grads = [[p.requires_grad for p in net.backbone.parameters()] for net in (same, other)]
    assert grads[0] == grads[1]
    with pytest.raises(ValueError, match="give only freeze"):
        FineTunedEmbedder(freeze=2, **{**params, "trainable_layers": 1}).fit(X, y)


def test_pickle_round_trip_and_clone(fitted, xrays):
    X, _ = xrays
    buffer = io.BytesIO()
    joblib.dump(fitted, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    pd.testing.assert_frame_equal(loaded.transform(X), fitted.transform(X))
    fresh = clone(fitted)
    assert fresh.get_params() == fitted.get_params() and not hasattr(fresh, "net_")


def test_last_batch_of_one_sample_is_dropped(xrays):
    X, y = xrays
    params = {**PARAMS, "max_epochs": 1, "validation_fraction": None, "trainable_layers": 0}
    emb = FineTunedEmbedder(random_state=0, **params).fit(X.iloc[:17], y[:17])  # 17 = 2 x 8 + 1
    assert emb.net_.iterator_train__drop_last


def test_bad_targets(xrays):
    X, y = xrays
    with pytest.raises(ValueError, match="y holds 1 class"):
        FineTunedEmbedder(**PARAMS).fit(X, np.full(len(X), "COVID"))
    with pytest.raises(ValueError, match="labels"):
        FineTunedEmbedder(**PARAMS).fit(X, y[:-1])


@pytest.mark.real_data
@pytest.mark.slow
def test_fine_tuning_beats_chance_on_real_xrays(real_data_dir):
    from skcovid.datasets import load_scan_folder

    data = load_scan_folder(real_data_dir, modalities="xray")
    X, y = data.data, np.asarray(data.target)
    train = (X["split"] == "train").to_numpy()
    emb = FineTunedEmbedder(
        "resnet18", hidden=64, image_size=64, trainable_layers=2, max_epochs=2, batch_size=32,
        validation_fraction=0.1, device="cpu", random_state=0,
    ).fit(X[train], y[train])
    score = balanced_accuracy_score(y[~train], emb.predict(X[~train]))
    print(f"real X-ray Test balanced accuracy: {score:.3f}")
    assert score > 0.6  # majority-class rate is 81/132 = 0.61 accuracy, 0.5 balanced accuracy
    assert emb.transform(X[~train].iloc[:4]).shape == (4, 64 + 2)
