"""SharedFeatureExtractor: adversarial training removes modality information; clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skcovid.multimodal import SharedFeatureExtractor

from ._helpers import make_embeddings

# modality is trivially visible (4 columns shifted by 4 standard deviations), the label lives elsewhere
ADVERSARIAL_SETTINGS = dict(
    hidden=(32, 16),
    max_epochs=40,
    patience=None,
    validation_fraction=0.5,
    lr=3e-3,
    dropout=0.0,
    device="cpu",
    random_state=0,
)


@pytest.fixture(scope="module")
def leaky_data():
    return make_embeddings(400, modality_dims=4, modality_shift=4.0, random_state=0)


@pytest.fixture(scope="module")
def probe_accuracy(leaky_data):
    X, y = leaky_data
    accuracy = {}
    for mode in (None, "gradient_reversal", "minimax"):
        shared = SharedFeatureExtractor(adversarial=mode, **ADVERSARIAL_SETTINGS).fit(X, y)
        accuracy[mode] = (shared.modality_accuracy_, shared)
    return accuracy


def test_without_adversary_the_modality_stays_readable(probe_accuracy):
    accuracy, shared = probe_accuracy[None]
    assert accuracy > 0.9
    assert shared.modality_chance_ < 0.6  # balanced modalities: chance is about 0.5


@pytest.mark.parametrize("mode", ["gradient_reversal", "minimax"])
def test_adversarial_training_hides_the_modality(probe_accuracy, mode):
    accuracy, shared = probe_accuracy[mode]
    baseline = probe_accuracy[None][0]
    assert accuracy < 0.8
    assert accuracy < baseline - 0.15
    # the diagnosis is still learned: validation loss well below chance level (log 2)
    assert shared.history_["valid_diagnosis_loss"].min() < 0.5
    # both players' losses are recorded every epoch
    assert shared.history_[["train_diagnosis_loss", "train_discriminator_loss"]].notna().all().all()
    assert len(shared.history_) == ADVERSARIAL_SETTINGS["max_epochs"]


def test_transform_keeps_index_and_passthrough(embeddings):
    X, y = embeddings
    shared = SharedFeatureExtractor(hidden=(8, 4), max_epochs=2, device="cpu", random_state=0).fit(X, y)
    out = shared.transform(X)
    assert list(out.columns) == ["shared_0", "shared_1", "shared_2", "shared_3", "modality", "patient"]
    assert out.index.equals(X.index)
    assert (out["patient"] == X["patient"]).all()
    # a plain array in, a plain array out
    with pytest.warns(UserWarning, match="valid feature names"):
        array = shared.transform(X.drop(columns=["modality", "patient"]).to_numpy())
    np.testing.assert_allclose(array, out.iloc[:, :4].to_numpy(), rtol=1e-5)


def test_adversarial_needs_a_modality(embeddings):
    X, y = embeddings
    features = X.drop(columns=["modality", "patient"])
    with pytest.raises(ValueError, match="needs each row's modality"):
        SharedFeatureExtractor(hidden=(4,), adversarial="minimax", max_epochs=1).fit(features.to_numpy(), y)
    one_modality = X[X["modality"] == "ct"]
    with pytest.raises(ValueError, match="at least two modalities"):
        SharedFeatureExtractor(hidden=(4,), adversarial="gradient_reversal", max_epochs=1).fit(
            one_modality, y[(X["modality"] == "ct").to_numpy()]
        )
    # without an adversary a plain array is fine, and no leakage is measured
    shared = SharedFeatureExtractor(hidden=(4,), max_epochs=1, device="cpu").fit(features, y)
    assert shared.discriminator_ is None and math.isnan(shared.modality_accuracy_)


def test_bad_parameters_and_columns(embeddings):
    X, y = embeddings
    with pytest.raises(ValueError, match="adversarial"):
        SharedFeatureExtractor(adversarial="gan").fit(X, y)
    with pytest.raises(ValueError, match="at least one layer"):
        SharedFeatureExtractor(hidden=()).fit(X, y)
    with pytest.raises(ValueError, match="not numeric features"):
        SharedFeatureExtractor(hidden=(4,), max_epochs=1).fit(X.assign(source="ieee"), y)
