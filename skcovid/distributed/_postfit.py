"""ParallelPostFit: a fitted estimator applied partition by partition to a dask scan table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._client import current_client, require_dask, ship


def _has(method):
    return lambda self: hasattr(self.estimator, method)


def _as_frame(out, part, estimator):
    """A transform's output as a DataFrame indexed like the partition."""
    if isinstance(out, pd.DataFrame):
        return out
    out = np.asarray(out)
    names = estimator.get_feature_names_out() if hasattr(estimator, "get_feature_names_out") else None
    return pd.DataFrame(out.reshape(len(part), -1), index=part.index, columns=names)


def _apply(part, estimator, method, *, out_meta, **kwargs):
    """Run ``estimator.<method>`` on one partition and shape the result like ``meta``."""
    meta = out_meta
    if len(part) == 0:
        return meta
    out = getattr(estimator, method)(part, **kwargs)
    if method == "transform":
        return _as_frame(out, part, estimator)
    if method == "predict":
        return pd.Series(np.asarray(out), index=part.index, name=meta.name).astype(meta.dtype)
    if method == "predict_proba":
        return pd.DataFrame(np.asarray(out, dtype=np.float64), index=part.index, columns=meta.columns)
    return np.asarray(out, dtype=meta.dtype)  # predict_mask: (rows, H, W) booleans


def _probe_meta(part, estimator):
    """An empty frame with the columns and dtypes of ``transform`` (probed on one real row)."""
    return _as_frame(estimator.transform(part.iloc[:1]), part.iloc[:1], estimator).iloc[:0]


class ParallelPostFit(MetaEstimatorMixin, BaseEstimator):
    """Apply a fitted estimator to a dask scan table, partition by partition, on a cluster.

    ``transform``, ``predict``, ``predict_proba`` and (for estimators that segment, such as
    :class:`~skcovid.nets.MultiTaskUNet`) ``predict_mask`` take a dask DataFrame (see
    :func:`to_dask_table`) and return lazy dask collections with correct ``meta``; each
    partition runs the estimator's own method on a worker. The fitted estimator is
    scattered to every worker once (``client.scatter(..., broadcast=True)``) the first time
    it is needed and reused by every later call, instead of being pickled into every task.
    pandas input is passed to the estimator directly.

    It plays the role of dask-ml's ``ParallelPostFit`` (which works with this library's
    scikit-learn and pandas), written anew because dask-ml's embeds the estimator in every
    task (unpickled once per partition), infers ``meta`` by running the estimator on fake
    rows (which fails on scan tables, whose ``image`` column must hold readable images)
    and has no ``predict_mask``.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator (or pipeline) taking a scan table, or an unfitted one that
        :meth:`fit` trains in memory.

    Attributes
    ----------
    estimator_ : estimator
        The estimator used for inference: a clone fitted by :meth:`fit`, else ``estimator``.
    classes_ : ndarray
        The estimator's classes, for classifiers.

    Notes
    -----
    Outputs keep the table's index (rows can be joined back to it):

    - ``transform``: a dask DataFrame with the estimator's output columns (for an embedder:
      ``emb_0`` ... and the passed-through ``modality``, ``patient``); its ``meta`` is
      probed on one row of the first partition, on a worker;
    - ``predict``: a dask Series ``predicted`` with the dtype of ``classes_``;
    - ``predict_proba``: a dask DataFrame of float64 probabilities, one column per class
      (``str(c)`` for ``c`` in ``classes_``);
    - ``predict_mask``: a dask Array of booleans ``(n_scans, H, W)`` at the network
      resolution (row chunks unknown until computed).

    The estimator is scattered once per client: change it (refit, ``set_params``) and
    wrap it again. Between computations, dask's active memory manager may drop the extra
    copies; a later call then copies it from worker to worker, at most once per worker.
    The copies are freed when the outputs and this wrapper are released.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcovid.distributed import ParallelPostFit
    >>> import dask.dataframe as dd
    >>> X = pd.DataFrame({"a": [0.0, 1, 2, 3, 4, 5], "b": [1.0, 0, 1, 0, 1, 0]})
    >>> model = LogisticRegression().fit(X, [0, 0, 0, 1, 1, 1])
    >>> proba = ParallelPostFit(model).predict_proba(dd.from_pandas(X, npartitions=2))
    >>> list(proba.columns), proba.npartitions
    (['0', '1'], 2)
    >>> bool(np.allclose(proba.compute(), model.predict_proba(X)))
    True
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y=None, **fit_params):
        """Fit a clone of ``estimator`` in memory (training is not distributed here).

        Parameters
        ----------
        X : scan table or array-like
            Training data (pandas; call ``.compute()`` on a dask table first).
        y : array-like, optional
        **fit_params
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : ParallelPostFit
        """
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.__dict__.pop("_shipped_ref", None)
        return self

    @property
    def classes_(self):
        return self._fitted().classes_

    def _fitted(self):
        estimator = self.__dict__.get("estimator_", self.estimator)
        check_is_fitted(estimator, msg=(
            f"ParallelPostFit wraps an unfitted {type(estimator).__name__}: pass a fitted estimator, "
            "or call ParallelPostFit(...).fit(X, y) first."))
        return estimator

    def _shipped(self):
        """The reference tasks use; scattered once per client, cached."""
        client = current_client()
        key = None if client is None else client.id
        cached = self.__dict__.get("_shipped_ref")
        if cached is None or cached[0] != key:
            cached = (key, ship(self._fitted(), client))
            self.__dict__["_shipped_ref"] = cached
        return cached[1]

    def _map(self, X, method, meta, **kwargs):
        require_dask()
        import dask.dataframe as dd

        if not isinstance(X, dd.DataFrame):
            return getattr(self._fitted(), method)(X, **kwargs)
        return X.map_partitions(_apply, self._shipped(), method, out_meta=meta, **kwargs, meta=meta)

    @available_if(_has("transform"))
    def transform(self, X):
        """Transform each partition (embeddings for an embedder).

        Parameters
        ----------
        X : dask DataFrame scan table, or pandas

        Returns
        -------
        dask.dataframe.DataFrame (or the estimator's output for pandas input)
        """
        import dask
        import dask.dataframe as dd

        meta = None
        if isinstance(X, dd.DataFrame):  # one row of the first partition, on a worker
            first = X.partitions[0].to_delayed()[0]
            meta = dask.delayed(_probe_meta)(first, self._shipped()).compute()
        return self._map(X, "transform", meta)

    @available_if(_has("predict"))
    def predict(self, X):
        """Predicted class (or value) of each row.

        Parameters
        ----------
        X : dask DataFrame scan table, or pandas

        Returns
        -------
        dask.dataframe.Series named ``predicted`` (or the estimator's output for pandas input)
        """
        classes = getattr(self._fitted(), "classes_", np.array([], dtype=np.float64))
        meta = pd.Series(np.asarray(classes)[:0], name="predicted")
        return self._map(X, "predict", meta)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of each row, one float64 column per class.

        Parameters
        ----------
        X : dask DataFrame scan table, or pandas

        Returns
        -------
        dask.dataframe.DataFrame (or the estimator's output for pandas input)
        """
        columns = [str(c) for c in self._fitted().classes_]
        return self._map(X, "predict_proba", pd.DataFrame({c: pd.Series(dtype=np.float64) for c in columns}))

    @available_if(_has("predict_mask"))
    def predict_mask(self, X, *, threshold=0.5):
        """Lung masks at the network resolution, as a dask Array of booleans.

        Parameters
        ----------
        X : dask DataFrame scan table, or pandas
        threshold : float, default=0.5
            Pixels with a lung probability at or above it are in the mask.

        Returns
        -------
        dask.array.Array of shape (n_scans, H, W), bool (or an ndarray for pandas input)
        """
        height, width = self._fitted().preprocessor_.size_
        meta = np.empty((0, height, width), dtype=bool)
        return self._map(X, "predict_mask", meta, threshold=threshold)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_shipped_ref", None)  # a future of one client's cluster
        return state
