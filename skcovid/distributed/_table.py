"""Scan tables as dask DataFrames: partitions of rows, images kept as paths or arrays."""

from __future__ import annotations

import os
from contextlib import nullcontext

import numpy as np

from ..utils import check_scan_table
from ._client import require_dask


def to_dask_table(X, *, chunksize=256, npartitions=None):
    """Split a scan table into a dask DataFrame of partitions, keeping its images intact.

    Dask turns object columns into strings by default (``dataframe.convert-string``), which
    would silently replace in-memory image arrays by their text. This function keeps
    arrays as objects and stores paths as strings. At scale, keep paths in the table (a
    few bytes per row): the workers read the images, the client never holds them.

    Parameters
    ----------
    X : scan table (DataFrame with an ``image`` column), array of images, or list of paths
        As accepted by :func:`skcovid.utils.check_scan_table`.
    chunksize : int, default=256
        Rows per partition (ignored when ``npartitions`` is given). A partition is the unit
        of work of a worker: a few hundred scans keep the scheduler's per-task overhead
        small next to the work.
    npartitions : int, optional
        Number of partitions instead of ``chunksize``.

    Returns
    -------
    dask.dataframe.DataFrame
        The same rows, columns and index, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.distributed import to_dask_table
    >>> images = np.zeros((5, 8, 8), dtype=np.uint8)
    >>> table = to_dask_table(images, chunksize=2)
    >>> table.npartitions
    3
    >>> type(table.compute()["image"].iloc[0]).__name__
    'ndarray'
    """
    require_dask()
    import dask
    import dask.dataframe as dd

    for name, value in (("chunksize", chunksize), ("npartitions", npartitions)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    table = check_scan_table(X, copy=True)
    images = table["image"]
    if images.map(lambda image: isinstance(image, (str, os.PathLike))).all():
        table["image"] = images.map(os.fspath).astype(str)
    keep_objects = any(  # arrays (images, masks) in an object column
        table[c].dtype == object and not table[c].map(lambda v: v is None or isinstance(v, str)).all()
        for c in table.columns
    )
    size = None if npartitions is not None else int(chunksize)
    with dask.config.set({"dataframe.convert-string": False}) if keep_objects else nullcontext():
        return dd.from_pandas(table, npartitions=npartitions, chunksize=size, sort=False)
