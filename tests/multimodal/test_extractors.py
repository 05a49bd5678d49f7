"""TaskSpecificExtractor, ClassifierHead and MultiTaskFeatures on tabular data."""

from __future__ import annotations

import numpy as np
import pytest

from skcovid.multimodal import (
    ClassifierHead,
    ModalityRouter,
    MultiTaskFeatures,
    SharedFeatureExtractor,
    TaskSpecificExtractor,
)

TINY = dict(max_epochs=3, lr=0.01, device="cpu", random_state=0)


def test_task_specific_extractor_frames_and_arrays(embeddings):
    X, y = embeddings
    extractor = TaskSpecificExtractor(hidden=(16, 5), **TINY).fit(X, y)
    out = extractor.transform(X)
    assert list(out.columns) == [f"task_{i}" for i in range(5)] + ["modality", "patient"]
    assert out.index.equals(X.index) and out["task_0"].dtype == np.float32
    assert extractor.feature_names_in_.tolist() == [f"emb_{i}" for i in range(16)]
    # validation rows were carved by patient: skorch recorded a validation loss
    assert "valid_loss" in extractor.history_[-1]
    with pytest.warns(UserWarning, match="valid feature names"):
        array = extractor.transform(X.drop(columns=["modality", "patient"]).to_numpy())
    np.testing.assert_allclose(array, out.iloc[:, :5].to_numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="not numeric features"):
        extractor.transform(X.assign(split="train"))


def test_head_learns_string_labels(embeddings):
    X, y = embeddings
    head = ClassifierHead(hidden=(16,), max_epochs=20, lr=0.01, device="cpu", random_state=0).fit(X, y)
    assert head.classes_.tolist() == ["COVID", "Non_COVID"]
    proba = head.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.mean(head.predict(X) == y) > 0.9
    decision = head.decision_function(X)
    assert decision.shape == (len(X),)
    assert np.array_equal(decision > 0, proba[:, 1] > 0.5)


def test_head_multiclass_focal_and_class_weight(embeddings):
    X, _ = embeddings
    y = np.where(X["emb_8"] > 0.5, "COVID", np.where(X["emb_9"] > 0, "Pneumonia", "Normal"))
    head = ClassifierHead(
        hidden=(), loss="focal", class_weight="balanced", max_epochs=20, lr=0.05, device="cpu", random_state=0
    ).fit(X, y)
    assert head.classes_.tolist() == ["COVID", "Normal", "Pneumonia"]
    assert head.predict_proba(X).shape == (len(X), 3) and head.decision_function(X).shape == (len(X), 3)
    assert head.net_.criterion_.gamma == 2.0 and head.net_.criterion_.alpha.shape == (3,)
    weighted = ClassifierHead(hidden=(), class_weight={"COVID": 3.0}, max_epochs=1, device="cpu").fit(X, y)
    assert weighted.net_.criterion_.alpha.tolist() == [3.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"labels \['Flu'\]"):
        ClassifierHead(class_weight={"Flu": 2.0}, max_epochs=1).fit(X, y)


def test_single_class_and_tiny_inputs_are_clear_errors(embeddings):
    X, y = embeddings
    with pytest.raises(ValueError, match="at least 2 classes"):
        ClassifierHead(max_epochs=1).fit(X, np.full(len(X), "COVID"))
    with pytest.raises(ValueError, match="requires y"):
        TaskSpecificExtractor(max_epochs=1).fit(X, None)


def test_multitask_features_concatenates_branches(embeddings):
    X, y = embeddings
    task = TaskSpecificExtractor(hidden=(3,), **TINY)
    union = MultiTaskFeatures(
        task=ModalityRouter({"xray": task, "ct": task}), shared=SharedFeatureExtractor(hidden=(2,), **TINY)
    )
    out = union.fit_transform(X, y)
    assert list(out.columns) == ["task_0", "task_1", "task_2", "shared_0", "shared_1", "modality", "patient"]
    assert out.index.equals(X.index)
    np.testing.assert_allclose(
        union.transform(X).iloc[:, :5].to_numpy(), out.iloc[:, :5].to_numpy(), rtol=1e-5
    )
    assert union.get_params()["task__ct__hidden"] == (3,)
    with pytest.raises(ValueError, match="needs a task or a shared"):
        MultiTaskFeatures().fit(X, y)
