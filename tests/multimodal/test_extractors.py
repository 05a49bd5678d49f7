"""TaskSpecificExtractor, ClassifierHead and MultiTaskFeatures on tabular data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

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
    with pytest.raises(ValueError, match="y holds 1 class"):
        ClassifierHead(max_epochs=1).fit(X, np.full(len(X), "COVID"))
    with pytest.raises(ValueError, match="requires y"):
        TaskSpecificExtractor(max_epochs=1).fit(X, None)


def _held_out(embeddings):
    X, y = embeddings
    patients = X["patient"].str[1:].astype(int)
    train = (patients % 4 != 0).to_numpy()
    return X[train], y[train], X[~train], y[~train]


def test_task_specific_extractor_learns_at_defaults(embeddings):
    """The extractor's diagnosis network scores well on held-out patients (lr=0 would not)."""
    X_train, y_train, X_test, y_test = _held_out(embeddings)
    extractor = TaskSpecificExtractor(device="cpu", random_state=0).fit(X_train, y_train)
    proba = extractor.net_.predict_proba(X_test.drop(columns=["modality", "patient"]).to_numpy("float32"))
    accuracy = np.mean(extractor.classes_[np.argmax(proba, axis=1)] == y_test)
    assert accuracy > 0.85
    frozen = TaskSpecificExtractor(lr=1e-12, device="cpu", random_state=0).fit(X_train, y_train)
    proba = frozen.net_.predict_proba(X_test.drop(columns=["modality", "patient"]).to_numpy("float32"))
    assert np.mean(frozen.classes_[np.argmax(proba, axis=1)] == y_test) < 0.75


def test_head_learns_at_defaults(embeddings):
    X_train, y_train, X_test, y_test = _held_out(embeddings)
    head = ClassifierHead(device="cpu", random_state=0).fit(X_train, y_train)
    assert np.mean(head.predict(X_test) == y_test) > 0.85
    frozen = ClassifierHead(lr=1e-12, device="cpu", random_state=0).fit(X_train, y_train)
    assert np.mean(frozen.predict(X_test) == y_test) < 0.75


def test_best_epoch_is_restored_and_split_keeps_patients_together(embeddings):
    import torch

    from skcovid.multimodal._tabular import validation_indices

    X, y = embeddings
    extractor = TaskSpecificExtractor(max_epochs=15, patience=3, lr=0.02, device="cpu", random_state=0)
    extractor.fit(X, y)
    valid = extractor.net_.train_split.keywords["valid_ds"]
    with torch.no_grad():
        extractor.module_.eval()
        logits = extractor.module_(torch.as_tensor(valid.X))
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(valid.y)).item()
    assert loss == pytest.approx(min(extractor.history_[:, "valid_loss"]), rel=1e-4)
    # the validation rows are whole patients, never on both sides
    codes = (y == "Non_COVID").astype(np.int64)
    for seed in range(5):
        train_idx, valid_idx = validation_indices(
            codes, X["patient"].to_numpy(), validation_fraction=0.2, random_state=seed
        )
        assert not set(X["patient"].iloc[train_idx]) & set(X["patient"].iloc[valid_idx])
        assert len(valid_idx) > 0


def test_multitask_features_are_out_of_fold_in_fit(embeddings):
    X, y = embeddings
    task = TaskSpecificExtractor(hidden=(3,), **TINY)
    union = MultiTaskFeatures(
        task=ModalityRouter({"xray": task, "ct": task}, layout="block"),
        shared=SharedFeatureExtractor(hidden=(2,), **TINY),
        cv=3,
        align=None,  # raw fold outputs: compared with a fold model below
        random_state=0,
    )
    out = union.fit_transform(X, y)
    names = (
        [f"task_xray_{i}" for i in range(3)] + [f"task_ct_{i}" for i in range(3)] + ["shared_0", "shared_1"]
    )
    assert list(out.columns) == names + ["modality", "patient"]
    assert out.index.equals(X.index)
    # block layout: the X-ray rows have zeros in the CT block and vice versa
    xray = (X["modality"] == "xray").to_numpy()
    assert (out.loc[xray, "task_ct_0"] == 0).all() and (out.loc[~xray, "task_xray_0"] == 0).all()
    # out-of-fold: each row's features come from branches fitted without its patient
    folds = union._folds(X, y)
    for train, test in folds:
        assert not set(X["patient"].iloc[train]) & set(X["patient"].iloc[test])
    train, test = folds[0]
    fold_shared = SharedFeatureExtractor(hidden=(2,), **TINY).fit(X.iloc[train], y[train])
    np.testing.assert_allclose(
        out.iloc[test][["shared_0", "shared_1"]].to_numpy(),
        fold_shared.transform(X.iloc[test])[["shared_0", "shared_1"]].to_numpy(),
        rtol=1e-4,
        atol=1e-5,
    )
    # transform uses the branches fitted on all rows: not the out-of-fold features
    assert not np.allclose(union.transform(X)[names].to_numpy(), out[names].to_numpy())
    in_sample = union.set_params(cv=None).fit_transform(X, y)
    np.testing.assert_allclose(in_sample[names].to_numpy(), union.transform(X)[names].to_numpy(), rtol=1e-5)
    assert union.get_params()["task__ct__hidden"] == (3,)
    with pytest.raises(ValueError, match="needs a task or a shared"):
        MultiTaskFeatures().fit(X, y)


def _unit_correlation(a, b):
    """Mean over columns of the correlation of a column of ``a`` with the same column of ``b``."""
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    return float(np.mean((a * b).sum(axis=0) / np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))))


class _ShufflingBranch(TransformerMixin, BaseEstimator):
    """Emits its input's columns in an order, sign and scale that depend on the rows it saw,
    as networks fitted on different rows order, flip and scale their hidden units."""

    def fit(self, X, y=None):
        rng = np.random.RandomState(len(X))
        n = X.filter(like="emb_").shape[1]
        self.order_, self.scale_ = rng.permutation(n), rng.choice([-2.0, -0.5, 0.5, 2.0], size=n)
        return self

    def transform(self, X):
        return X.filter(like="emb_").to_numpy()[:, self.order_] * self.scale_


def test_out_of_fold_features_are_aligned_with_the_final_extractors(embeddings):
    """A fold model's unit k is not the final model's unit k; align="linear" maps it there."""
    X, y = embeddings
    union = MultiTaskFeatures(shared=_ShufflingBranch(), cv=3, random_state=0)
    final = union.fit(X, y).transform(X).filter(like="shared_").to_numpy()
    aligned = union.fit_transform(X, y).filter(like="shared_").to_numpy()
    raw = union.set_params(align=None).fit_transform(X, y).filter(like="shared_").to_numpy()
    assert _unit_correlation(aligned, final) > 0.99
    assert abs(_unit_correlation(raw, final)) < 0.5
    with pytest.raises(ValueError, match="align"):
        union.set_params(align="procrustes").fit(X, y)


def test_shared_embedding_columns_go_to_the_shared_branch_only(embeddings):
    X, y = embeddings
    joint = X.drop(columns=["modality", "patient"]).add_prefix("shared_")
    joint.columns = [f"shared_emb_{i}" for i in range(joint.shape[1])]
    both = X.join(joint[["shared_emb_0", "shared_emb_1"]])
    union = MultiTaskFeatures(
        task=ModalityRouter(
            {
                "xray": TaskSpecificExtractor(hidden=(2,), **TINY),
                "ct": TaskSpecificExtractor(hidden=(2,), **TINY),
            }
        ),
        shared=SharedFeatureExtractor(hidden=(2,), **TINY),
        cv=None,
    ).fit(both, y)
    assert union.shared_.feature_names_in_.tolist() == ["shared_emb_0", "shared_emb_1"]
    assert union.task_.estimators_["xray"].feature_names_in_.tolist() == [f"emb_{i}" for i in range(16)]
