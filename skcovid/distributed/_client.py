"""Where the work runs: a scheduler address, ``local:N`` or the current client; shipping objects once."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

EXTRA_HINT = "install the extra: pip install 'skcovid[distributed]'"


def require_dask():
    """Import dask, dask.dataframe and distributed, or raise an ImportError naming the extra."""
    try:
        import dask  # noqa: F401
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"skcovid.distributed needs dask[dataframe,distributed] ({exc}); {EXTRA_HINT}."
        ) from exc


def current_client():
    """The distributed Client of this context, or None when dask runs on its local scheduler."""
    from distributed import Client

    try:
        return Client.current()
    except ValueError:
        return None


def _local_workers(scheduler):
    count = scheduler.partition(":")[2]
    if not count.isdigit() or int(count) < 1:
        raise ValueError(
            f"scheduler={scheduler!r}: write 'local:N' with N a positive number of worker processes "
            "(for example 'local:2')."
        )
    return int(count)


@contextmanager
def connect(scheduler=None):
    """Use a Dask cluster for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : None, str or distributed.Client, default=None
        - None: the client already active in this context (``Client(...)`` or
          ``with Client(...)``), else dask's local threaded scheduler (yields None);
        - ``"local:N"``: a :class:`distributed.LocalCluster` of N worker processes with one
          thread each and no dashboard, started here and closed on exit;
        - an address (``"tcp://10.0.0.5:8786"``, ``"10.0.0.5:8786"``): a client of that
          scheduler, closed on exit (the cluster keeps running);
        - a :class:`distributed.Client`: used as is, not closed.

    Yields
    ------
    client : distributed.Client or None

    Examples
    --------
    >>> from skcovid.distributed import connect
    >>> with connect("local:two"):
    ...     pass
    Traceback (most recent call last):
    ValueError: scheduler='local:two': write 'local:N' with N a positive number of worker processes ...
    """
    require_dask()
    from distributed import Client, LocalCluster

    if scheduler is None:
        yield current_client()
    elif isinstance(scheduler, Client):
        yield scheduler
    elif isinstance(scheduler, str) and scheduler.startswith("local:"):
        workers = _local_workers(scheduler)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
    elif isinstance(scheduler, str) and scheduler:
        with Client(scheduler) as client:
            yield client
    else:
        raise ValueError(
            f"scheduler must be None, 'local:N', a scheduler address such as 'tcp://10.0.0.5:8786', "
            f"or a distributed.Client; got {scheduler!r}."
        )


def ship(obj, client):
    """One reference to ``obj`` that dask tasks take as an argument, sent once per worker.

    With a distributed client, ``obj`` is scattered to every worker now
    (``client.scatter(obj, broadcast=True)``): tasks then receive the worker's copy, so a
    fitted model is unpickled once per worker instead of once per partition. On the local
    scheduler it is a named ``dask.delayed`` (no copy, no hashing of a large model).
    """
    if client is not None:
        return client.scatter(obj, broadcast=True, hash=False)
    import dask

    return dask.delayed(obj, name=f"skcovid-shipped-{uuid.uuid4().hex}")
