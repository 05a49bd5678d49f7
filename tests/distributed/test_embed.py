"""Embeddings on two workers: Parquet partitions equal to in-process embeddings; the shared folder cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skcovid.distributed import embed_to_parquet, fill_embedding_cache
from skcovid.embedders import EmbeddingCache, PretrainedEmbedder, forward_pass_count, reset_forward_pass_count


def embedder(**params):
    return PretrainedEmbedder("resnet18", image_size=32, random_state=0, device="cpu", **params)


def test_parquet_partitions_equal_in_process_embeddings(client, scans, tmp_path):
    X, _ = scans
    model = embedder().fit(X)
    folder = embed_to_parquet(model, X, tmp_path / "emb", scheduler=client, chunksize=16,
                              keep_columns=["image"])
    assert sorted(p.name for p in folder.glob("*.parquet")) == [f"part.{i}.parquet" for i in range(4)]
    written = pd.read_parquet(folder)
    local = model.transform(X)
    assert written.index.equals(X.index)
    assert list(written.columns) == [*local.columns, "image"]
    np.testing.assert_allclose(written.filter(like="emb_"), local.filter(like="emb_"), rtol=0, atol=1e-5)
    assert written["image"].tolist() == X["image"].tolist()


def test_fill_cache_forwards_each_image_once_across_workers(client, scans, tmp_path):
    X, _ = scans
    client.run(reset_forward_pass_count)
    model = embedder(cache=str(tmp_path / "cache")).fit(X)
    assert fill_embedding_cache(model, X, scheduler=client, chunksize=16) == len(X)
    assert fill_embedding_cache(model, X, scheduler=client, chunksize=16) == 0  # all read from the folder
    assert sum(client.run(forward_pass_count).values()) == len(X)
    reset_forward_pass_count()
    np.testing.assert_allclose(model.transform(X).filter(like="emb_"),  # the client reads the same cache
                               embedder().fit(X).transform(X).filter(like="emb_"), rtol=0, atol=1e-5)


def test_refuses_in_process_cache_and_unfitted_embedders(scans, tmp_path):
    X, _ = scans
    with pytest.raises(ValueError, match="cache=True is an in-process store"):
        embed_to_parquet(embedder(cache=True).fit(X), X, tmp_path)
    in_process = r"cache=EmbeddingCache\(directory=None, key='content'\) is an in-process store"
    with pytest.raises(ValueError, match=in_process):
        fill_embedding_cache(embedder(cache=EmbeddingCache(key="content")).fit(X), X)
    with pytest.raises(Exception, match="is not fitted: call fit first"):
        embed_to_parquet(embedder(), X, tmp_path)
    with pytest.raises(ValueError, match="has no cache to fill"):
        fill_embedding_cache(embedder().fit(X), X)
    with pytest.raises(ValueError, match="keep_columns: X has no column"):
        embed_to_parquet(embedder().fit(X), X, tmp_path, keep_columns=["split"])
