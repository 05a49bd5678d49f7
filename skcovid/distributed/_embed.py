"""Embeddings of a scan table on a cluster: written to Parquet partition by partition, or cached."""

from __future__ import annotations

import copy
from pathlib import Path

from sklearn.utils.validation import check_is_fitted

from ..embedders import EmbeddingCache
from ._client import connect, require_dask, ship
from ._postfit import ParallelPostFit
from ._table import to_dask_table


def _table(X, chunksize):
    import dask.dataframe as dd

    return X if isinstance(X, dd.DataFrame) else to_dask_table(X, chunksize=chunksize)


def _check_embedder(embedder):
    check_is_fitted(embedder, msg=(
        f"{type(embedder).__name__} is not fitted: call fit first (PretrainedEmbedder.fit(X) builds the "
        "network and reads no image), then pass it here."))
    cache = getattr(embedder, "cache", None)
    if cache is True or (isinstance(cache, EmbeddingCache) and cache.directory is None):
        raise ValueError(
            f"cache={cache!r} is an in-process store: each worker would keep its own. Pass a folder on "
            "storage every worker reads and writes (embedder.set_params(cache='/shared/emb-cache'), or "
            "EmbeddingCache('/shared/emb-cache', key='content')), or cache=None."
        )


def embed_to_parquet(embedder, X, out, *, scheduler=None, chunksize=256, keep_columns=None):
    """Embed a scan table on a Dask cluster and write the embeddings to a Parquet folder.

    Each worker embeds its partitions (reading the images itself) and writes one Parquet
    file per partition into ``out``; nothing but the table of paths passes through the
    client. With a folder ``cache`` on shared storage, images embedded before (by any
    worker, in any run) are read from the cache instead of forwarded again.

    Parameters
    ----------
    embedder : fitted embedder
        :class:`~skcovid.embedders.PretrainedEmbedder`, :class:`~skcovid.embedders.FineTunedEmbedder`,
        :class:`~skcovid.embedders.TextureEmbedder` or any fitted transformer of scan tables.
        Its ``cache`` must be None or a folder every worker can reach.
    X : scan table (pandas, paths in ``image``) or dask DataFrame
        A pandas table is split with :func:`to_dask_table`.
    out : path-like
        Output folder, on storage the workers can write to (created; ``part.<i>.parquet``
        files replace any there before).
    scheduler : None, str or distributed.Client, default=None
        Where to run: see :func:`connect` (``"local:N"``, an address, a client, or None for
        the current client or dask's local scheduler).
    chunksize : int, default=256
        Rows per partition when ``X`` is a pandas table.
    keep_columns : list of str, optional
        Columns of ``X`` copied beside the embeddings (for example ``["image", "split"]``;
        ``modality`` and ``patient`` are passed through by the embedders already).

    Returns
    -------
    out : pathlib.Path
        The folder; read it with ``dask.dataframe.read_parquet(out)`` or
        ``pandas.read_parquet(out)``. Rows keep ``X``'s index (stored as the Parquet index).

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> from skcovid.embedders import TextureEmbedder
    >>> from skcovid.distributed import embed_to_parquet
    >>> images = list(np.random.default_rng(0).integers(0, 255, (4, 32, 32), dtype=np.uint8))
    >>> X = pd.DataFrame({"image": images, "modality": "xray"})
    >>> embedder = TextureEmbedder().fit(X)
    >>> folder = embed_to_parquet(embedder, X, tempfile.mkdtemp(), chunksize=2)
    >>> table = pd.read_parquet(folder)
    >>> table.shape == (4, embedder.n_features_out_ + 1)
    True
    """
    require_dask()
    _check_embedder(embedder)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = _table(X, chunksize)
    with connect(scheduler):
        embeddings = ParallelPostFit(embedder).transform(table)
        if keep_columns:
            missing = [c for c in keep_columns if c not in table.columns]
            if missing:
                raise ValueError(
                    f"keep_columns: X has no column(s) {missing}; its columns are {list(table.columns)}."
                )
            embeddings = embeddings.assign(**{c: table[c] for c in keep_columns})
        embeddings.to_parquet(out, write_index=True, overwrite=False)
    return out


def _forwarded(part, embedder):
    """Images this partition forwarded through the network (a shallow copy counts them)."""
    import pandas as pd

    embedder = copy.copy(embedder)  # shares the network; its own counter, safe across threads
    embedder.n_images_forwarded_ = 0
    embedder.transform(part)
    return pd.Series([embedder.n_images_forwarded_])


def fill_embedding_cache(embedder, X, *, scheduler=None, chunksize=256):
    """Embed every image of ``X`` into the embedder's folder cache, on a cluster.

    Call it before a search (``GridSearchCV``, ``cross_validate``,
    :func:`~skcovid.stats.compare_estimators`) under ``joblib.parallel_backend("dask")``
    whose pipelines start with a clone of ``embedder``: their fits then read every
    embedding from the shared cache, so each image goes through the network once for the
    whole search, whichever worker fits which fold. Without it, workers fitting folds at
    the same time can miss the same entries together and both forward those images.

    Parameters
    ----------
    embedder : fitted embedder with ``cache`` set to a folder on shared storage
    X : scan table (pandas) or dask DataFrame
    scheduler : None, str or distributed.Client, default=None
        See :func:`connect`.
    chunksize : int, default=256
        Rows per partition when ``X`` is a pandas table.

    Returns
    -------
    n_forwarded : int
        Images forwarded through the network by this call (0 when the cache already held
        them all). The embeddings themselves stay on the workers and in the cache.
    """
    require_dask()
    _check_embedder(embedder)
    if not getattr(embedder, "cache", None):
        raise ValueError(
            f"{type(embedder).__name__}(cache={embedder.cache!r}) has no cache to fill: set cache to a "
            "folder on storage every worker reads and writes."
        )
    import pandas as pd

    table = _table(X, chunksize)
    with connect(scheduler) as client:
        counts = table.map_partitions(_forwarded, ship(embedder, client), meta=pd.Series([], dtype=int))
        return int(counts.sum().compute())
