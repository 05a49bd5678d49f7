"""ParallelPostFit on a real two-worker cluster: the same numbers as in-process, the model shipped once."""

from __future__ import annotations

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skcovid.distributed import ParallelPostFit, to_dask_table
from skcovid.embedders import PretrainedEmbedder
from skcovid.nets import MultiTaskUNet

UNPICKLED = [0]


class CountingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the parity of column ``x``; counts how often a process unpickles it."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.payload_ = np.zeros(1_000_000, dtype=np.uint8)  # a model worth not copying per task
        return self

    def predict_proba(self, X):
        odd = (np.asarray(X["x"]) % 2).astype(float)[:, None]
        return np.hstack([1 - odd, odd])

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]

    def transform(self, X):
        return self.predict_proba(X)

    def __setstate__(self, state):
        UNPICKLED[0] += 1
        self.__dict__.update(state)


def unpickled():
    return UNPICKLED[0]


@pytest.fixture(scope="module")
def embedder(scans):
    return PretrainedEmbedder("resnet18", image_size=32, random_state=0, device="cpu").fit(scans[0])


def test_transform_equals_in_process_embeddings(client, scans, embedder):
    X, _ = scans
    table = to_dask_table(X, chunksize=16)
    out = ParallelPostFit(embedder).transform(table)
    local = embedder.transform(X)
    assert isinstance(out, dd.DataFrame) and out.npartitions == 4
    assert list(out.columns) == list(local.columns)
    meta = out._meta  # probed on a real row: float32 embeddings, string passthrough columns
    assert (meta.filter(like="emb_").dtypes == np.float32).all() and len(meta) == 0
    assert all(pd.api.types.is_string_dtype(meta[c]) for c in ("modality", "patient"))
    result = out.compute()
    assert result.index.equals(local.index)
    np.testing.assert_allclose(result.filter(like="emb_"), local.filter(like="emb_"), rtol=0, atol=1e-5)
    assert result["patient"].tolist() == local["patient"].tolist()


def test_predict_and_proba_equal_in_process(client, scans, embedder):
    X, y = scans
    pipe = make_pipeline(PretrainedEmbedder("resnet18", image_size=32, random_state=0, device="cpu")
                         .set_output(transform="default"), LogisticRegression(max_iter=1000))
    pipe.fit(X, y)
    wrapped = ParallelPostFit(pipe)
    table = to_dask_table(X, chunksize=16)
    proba, labels = wrapped.predict_proba(table), wrapped.predict(table)
    assert list(proba.columns) == ["COVID", "Non_COVID"] and (proba.dtypes == np.float64).all()
    assert labels.name == "predicted"
    np.testing.assert_allclose(proba.compute().to_numpy(), pipe.predict_proba(X), rtol=0, atol=1e-5)
    assert labels.compute().tolist() == pipe.predict(X).tolist()
    assert labels.compute().index.equals(X.index)  # joinable with the table


def test_model_is_shipped_once_per_worker_not_per_partition(client):
    X = pd.DataFrame({"x": np.arange(400)})
    model = CountingClassifier().fit(X, np.arange(400) % 2)
    wrapped = ParallelPostFit(model)
    table = dd.from_pandas(X, npartitions=20)
    results, copies = [], []
    for method in ("predict_proba", "predict", "transform"):  # 20 partition tasks each
        before = sum(client.run(unpickled).values())
        results.append(getattr(wrapped, method)(table).compute())
        copies.append(sum(client.run(unpickled).values()) - before)
    # at most one copy per worker and call (dask's memory manager may drop a copy between calls;
    # the copy then comes from the other worker, not the client); dask-ml's wrapper makes 20 per call
    assert copies[0] == 2 and max(copies) <= 2
    np.testing.assert_array_equal(results[0].to_numpy(), model.predict_proba(X))
    np.testing.assert_array_equal(results[1].to_numpy(), X["x"].to_numpy() % 2)
    np.testing.assert_array_equal(results[2].to_numpy(), model.predict_proba(X))


def test_predict_mask_is_a_dask_array_equal_to_in_process(client, synthetic_folder):
    from skcovid.datasets import load_scan_folder

    bunch = load_scan_folder(synthetic_folder[0])  # with the lung-mask column
    X, y = bunch.data, bunch.target
    unet = MultiTaskUNet(channels=(4, 8, 16), head_hidden=(8,), head_dropout=0.2, image_size=32, max_epochs=1,
                         batch_size=16, random_state=0, device="cpu").fit(X, y)
    masks = ParallelPostFit(unet).predict_mask(to_dask_table(X, chunksize=25), threshold=0.4)
    assert isinstance(masks, da.Array) and masks.dtype == bool and masks.shape[1:] == (32, 32)
    np.testing.assert_array_equal(masks.compute(), unet.predict_mask(X, threshold=0.4))


def test_pandas_input_and_unfitted_estimator(scans):
    X = pd.DataFrame({"x": np.arange(6)})
    model = CountingClassifier().fit(X, X["x"] % 2)
    np.testing.assert_array_equal(ParallelPostFit(model).predict_proba(X), model.predict_proba(X))
    fitted = ParallelPostFit(CountingClassifier()).fit(X, X["x"] % 2)
    assert list(fitted.classes_) == [0, 1]
    with pytest.raises(NotFittedError, match="wraps an unfitted CountingClassifier"):
        ParallelPostFit(CountingClassifier()).predict(dd.from_pandas(X, npartitions=2))
    assert not hasattr(ParallelPostFit(LogisticRegression()), "predict_mask")
