"""FineTunedEmbedder: training, embeddings, classifier API, freezing, persistence, real X-rays."""

import io
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.metrics import balanced_accuracy_score
from skorch.callbacks import Callback

from skcovid.embedders import FineTunedEmbedder
from skcovid.modules._embedding_heads import BackboneClassifier
from skcovid.nets import ImageClassifier
from tests.utils.callbacks import Interrupt, Record

PARAMS = dict(hidden=8, image_size=32, max_epochs=2, batch_size=8, freeze=5, device="cpu")


@pytest.fixture(scope="module")
def xrays(synthetic_scans):
    mask = (synthetic_scans.data["modality"] == "xray").to_numpy()
    X = synthetic_scans.data[mask].iloc[:36].copy()
    X.index = X.index + 1000
    return X, np.asarray(synthetic_scans.target)[mask][:36]


@pytest.fixture(scope="module")
def fitted(xrays):
    X, y = xrays
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # freeze, not the deprecated trainable_layers
        return FineTunedEmbedder(random_state=0, **PARAMS).fit(X, y)


def test_shared_parameters_have_the_image_classifiers_defaults():
    ours, theirs = FineTunedEmbedder().get_params(), ImageClassifier().get_params()
    shared = set(ours) & set(theirs)
    assert {
        "backbone",
        "weights",
        "freeze",
        "label_smoothing",
        "class_weight",
        "lr",
        "optimizer",
        "weight_decay",
        "max_epochs",
        "batch_size",
        "augment",
        "validation_fraction",
        "patience",
        "precision",
        "lr_schedule",
        "warmup_epochs",
        "monitor",
        "image_cache_mb",
        "checkpoint",
        "device",
    } <= shared
    assert {name: ours[name] for name in shared} == {name: theirs[name] for name in shared}
    # no download by default, and a learning rate for training from random initialisation
    assert (ours["weights"], ours["lr"], ours["optimizer"], ours["freeze"]) == (None, 1e-3, "adamw", None)
    assert ours["label_smoothing"] == 0.0 and ours["class_weight"] is None and ours["hidden"] == 1280


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
    np.testing.assert_allclose(
        torch.softmax(logits, 1).numpy(), fitted.predict_proba(X.iloc[:3]), rtol=1e-4, atol=1e-5
    )
    assert fitted.device_ == "cpu"
    assert fitted.preprocessor_.size_ == (32, 32)


class ValidImages(Callback):
    """Record the images of the validation dataset skorch scores."""

    def on_epoch_begin(self, net, dataset_valid=None, **kwargs):
        self.images = list(dataset_valid.images)


def test_early_stopping_split_is_by_patient_from_training_rows(fitted, xrays):
    X, y = xrays
    assert "valid_loss" in fitted.history_[-1]
    record = ValidImages()
    params = {**PARAMS, "max_epochs": 1, "freeze": "backbone"}
    FineTunedEmbedder(random_state=0, callbacks=[("valid", record)], **params).fit(X, y)
    valid_ids = {id(image) for image in record.images}
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
    interrupted = FineTunedEmbedder(
        random_state=0, checkpoint=tmp_path, **PARAMS, callbacks=[("interrupt", Interrupt(epoch=2))]
    )
    with pytest.raises(KeyboardInterrupt, match="FineTunedEmbedder.fit was interrupted in epoch 2 of 2"):
        interrupted.fit(X, y)
    assert interrupted.fit_interrupted_ is True
    with pytest.warns(UserWarning, match="Embedding with FineTunedEmbedder whose fit was interrupted"):
        interrupted.transform(X.iloc[:2])
    record = Record()
    resumed = FineTunedEmbedder(
        random_state=0, checkpoint=tmp_path, **PARAMS, callbacks=[("record", record)]
    ).fit(X, y)
    assert resumed.fit_interrupted_ is False and record.epochs_run == 1
    assert resumed.weights_fingerprint_ == fitted.weights_fingerprint_
    assert list(tmp_path.iterdir()) == []


def test_frozen_stages_do_not_change(xrays):
    X, y = xrays
    params = {**PARAMS, "freeze": "backbone", "max_epochs": 1, "validation_fraction": None}
    emb = FineTunedEmbedder(random_state=3, **params).fit(X, y)
    seed = emb.net_.module__random_state
    initial = BackboneClassifier("resnet18", hidden=8, freeze="backbone", random_state=seed)
    for name, tensor in initial.backbone.state_dict().items():
        torch.testing.assert_close(emb.module_.backbone.state_dict()[name], tensor, msg=name)
    assert not torch.equal(initial.dense.weight, emb.module_.dense.weight)
    assert "valid_loss" not in emb.net_.history[-1]


def test_freeze_speaks_the_image_classifier_vocabulary(xrays):
    X, y = xrays
    params = {**PARAMS, "max_epochs": 1, "validation_fraction": None}
    emb = FineTunedEmbedder(random_state=3, **{**params, "freeze": ["conv1", "bn1", "layer1"]}).fit(X, y)
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
    with pytest.raises(ValueError, match="give only freeze"), pytest.warns(FutureWarning):
        FineTunedEmbedder(**{**params, "freeze": 2, "trainable_layers": 1}).fit(X, y)


def test_trainable_layers_is_deprecated_for_freeze(xrays):
    X, y = xrays
    params = {**PARAMS, "max_epochs": 1, "validation_fraction": None, "freeze": None}
    with pytest.warns(FutureWarning, match=r"trainable_layers=1 is deprecated.*use freeze.*freeze=5"):
        old = FineTunedEmbedder(random_state=0, trainable_layers=1, **params).fit(X, y)
    new = FineTunedEmbedder(random_state=0, **{**params, "freeze": 5}).fit(X, y)
    grads = [[p.requires_grad for p in emb.module_.backbone.parameters()] for emb in (old, new)]
    assert grads[0] == grads[1] and sum(grads[1]) == sum(1 for _ in new.module_.backbone.layer4.parameters())
    assert old.weights_fingerprint_ == new.weights_fingerprint_  # the same training


def test_transform_contract(fitted, xrays):
    X, _ = xrays
    out = fitted.transform(X.iloc[:5])
    assert list(fitted.get_feature_names_out()) == list(out.columns)
    pd.testing.assert_frame_equal(out[["modality", "patient"]], X.iloc[:5][["modality", "patient"]])
    without_patient = fitted.transform(X.iloc[:5].drop(columns="patient"))  # patient is optional after fit
    pd.testing.assert_frame_equal(without_patient, out.drop(columns="patient"))
    with pytest.raises(ValueError, match=r"no \['modality'\] column"):
        fitted.transform(X.iloc[:5].drop(columns="modality"))
    with torch.inference_mode():  # the embedding is the dense layer's activation, as the head sees it
        images = torch.from_numpy(fitted.preprocessor_.transform(X.iloc[:5]))
        embedding = fitted.module_.eval().embed(images).numpy()
    np.testing.assert_allclose(out.iloc[:, :8].to_numpy(), embedding, rtol=1e-4, atol=1e-5)


def _squares(n_samples, random_state):
    """Noise with a bright square top-left (COVID) or bottom-right: a CNN learns it in a few epochs."""
    rng = np.random.default_rng(random_state)
    labels = np.arange(n_samples) % 2
    images = rng.integers(0, 60, size=(n_samples, 32, 32)).astype(np.uint8)
    for image, label in zip(images, labels):
        corner = slice(2, 14) if label else slice(18, 30)
        image[corner, corner] = 220
    return images, np.where(labels == 1, "COVID", "Non_COVID")


def test_default_learns_and_lr_zero_changes_no_weight():
    X, y = _squares(48, 0)
    X_test, y_test = _squares(32, 1)
    params = dict(
        hidden=8,
        image_size=32,
        max_epochs=3,
        batch_size=8,
        validation_fraction=None,
        device="cpu",
        random_state=0,
    )
    learned = FineTunedEmbedder(**params).fit(X, y)
    assert balanced_accuracy_score(y_test, learned.predict(X_test)) >= 0.9  # chance: 0.5
    still = FineTunedEmbedder(lr=0, label_smoothing=0.1, **params).fit(X, y)
    assert still.net_.criterion_.label_smoothing == 0.1
    initial = BackboneClassifier("resnet18", hidden=8, random_state=still.net_.module__random_state)
    trained = dict(still.module_.named_parameters())
    for name, tensor in initial.named_parameters():
        torch.testing.assert_close(trained[name], tensor, rtol=0, atol=0, msg=name)
    assert not torch.equal(dict(learned.module_.named_parameters())["logits.weight"], initial.logits.weight)


def test_class_weight_reaches_the_loss():
    X, y = _squares(48, 0)
    keep = (y == "Non_COVID") | (np.cumsum(y == "COVID") <= 8)  # imbalanced: 8 COVID, 24 Non_COVID
    X, y = X[keep], y[keep]
    params = dict(hidden=8, image_size=32, max_epochs=1, batch_size=8, freeze="backbone", device="cpu")
    params.update(validation_fraction=None, random_state=0)
    plain = FineTunedEmbedder(**params).fit(X, y)
    assert plain.net_.criterion_.weight is None  # the default weighs every scan alike
    balanced = FineTunedEmbedder(class_weight="balanced", **params).fit(X, y)
    # n_scans / (n_classes * count): COVID 32 / (2 * 8), Non_COVID 32 / (2 * 24)
    torch.testing.assert_close(balanced.net_.criterion_.weight, torch.tensor([2.0, 2.0 / 3.0]))
    assert balanced.history_[-1, "train_loss"] != plain.history_[-1, "train_loss"]
    named = FineTunedEmbedder(class_weight={"COVID": 3.0}, **params).fit(X, y)
    torch.testing.assert_close(named.net_.criterion_.weight, torch.tensor([3.0, 1.0]))
    with pytest.raises(ValueError, match=r"class_weight names labels \['covid'\] that are not in y"):
        FineTunedEmbedder(class_weight={"covid": 3.0}, **params).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        FineTunedEmbedder(class_weight="balance", **params).fit(X, y)


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
    params = {**PARAMS, "max_epochs": 1, "validation_fraction": None, "freeze": "backbone"}
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
def test_fine_tuning_beats_chance_on_real_xrays(real_xrays):
    X, y, train = real_xrays
    emb = FineTunedEmbedder(
        "resnet18",
        hidden=64,
        image_size=64,
        freeze=4,
        max_epochs=2,
        batch_size=32,
        validation_fraction=0.1,
        device="cpu",
        random_state=0,
    ).fit(X[train], y[train])
    score = balanced_accuracy_score(y[~train], emb.predict(X[~train]))
    print(f"real X-ray Test balanced accuracy: {score:.3f}")
    assert score > 0.6  # majority-class rate is 81/132 = 0.61 accuracy, 0.5 balanced accuracy
    assert emb.transform(X[~train].iloc[:4]).shape == (4, 64 + 2)
