"""EmbedderUnion: texture and CNN embeddings of the same scans side by side."""

import numpy as np
import pandas as pd
import pytest

from skcovid.embedders import EmbedderUnion, FineTunedEmbedder, PretrainedEmbedder, TextureEmbedder
from skcovid.multimodal import ModalityRouter, MultiModalEmbedder, make_embedder

CNN = dict(image_size=32, device="cpu", random_state=0)


def _values(frame):
    return frame.drop(columns=["modality", "patient"]).to_numpy()


def _union():
    return EmbedderUnion([("texture", TextureEmbedder(image_size=32, hog=False)),
                          ("cnn", PretrainedEmbedder(**CNN))])


def test_blocks_are_the_members_own_embeddings(small_scans):
    X, y = small_scans
    union = _union()
    Z = union.fit_transform(X, y)
    texture = TextureEmbedder(image_size=32, hog=False).fit_transform(X)
    cnn = PretrainedEmbedder(**CNN).fit_transform(X)
    features = _values(Z)
    np.testing.assert_array_equal(features[:, union.blocks_["texture"]], _values(texture))
    np.testing.assert_allclose(features[:, union.blocks_["cnn"]], _values(cnn), rtol=1e-6)
    assert Z.index.equals(X.index)
    assert list(Z.columns) == [f"emb_{i}" for i in range(union.n_features_out_)] + ["modality", "patient"]
    assert list(union.get_feature_names_out()) == list(Z.columns)
    pd.testing.assert_frame_equal(union.transform(X), Z)


def test_nested_parameters_reach_the_members():
    union = _union()
    assert union.get_params()["cnn__image_size"] == 32
    union.set_params(cnn__image_size=48, texture__hog=True)
    assert union.embedders[0][1].hog is True and union.embedders[1][1].image_size == 48
    with pytest.raises(ValueError, match="named \\['texture', 'cnn'\\]"):
        union.set_params(resnet__image_size=64)
    with pytest.raises(ValueError, match="list of \\(name, transformer\\) pairs"):
        EmbedderUnion([TextureEmbedder()]).fit(pd.DataFrame({"image": []}))


def test_a_learning_member_makes_the_union_learn_per_modality(small_scans):
    X, y = small_scans
    union = make_embedder(["texture", "fine_tuned"], image_size=32, max_epochs=1, device="cpu",
                          random_state=0)
    union.set_params(texture__hog=False, fine_tuned__hidden=8, fine_tuned__batch_size=8,
                     fine_tuned__freeze=5)
    assert isinstance(union.embedders[1][1], FineTunedEmbedder)
    assert union.learns_from_labels
    assert not _union().learns_from_labels
    embed = MultiModalEmbedder(union)
    Z = embed.fit_transform(X, y)
    assert isinstance(embed.task_, ModalityRouter)  # one union per modality for the task branch
    assert embed.shared_ is not None  # and one on all rows for the shared branch
    width = embed.shared_.n_features_out_
    assert Z.filter(like="shared_emb_").shape[1] == width
