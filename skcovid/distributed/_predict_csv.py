"""``predict_to_csv``: the CSV and overlays of ``skcovid predict``, computed on a Dask cluster."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from pathlib import Path

from ._client import connect, require_dask, ship

_CAM_LOCK = threading.Lock()  # Grad-CAM hooks the shared network: one partition at a time per process


def _predict_partition(part, model, options, folder, partition_info=None):
    """Read, predict and draw the scans of one partition (:func:`skcovid.explain.predict_rows`)."""
    import pandas as pd

    from ..explain import predict_rows

    if partition_info is None:  # dask's meta call: no work
        return pd.DataFrame({"row": []})
    locked = options["gradcam"] and hasattr(model, "module_")
    with _CAM_LOCK if locked else nullcontext():
        rows = [
            row
            for batch in predict_rows(
                model, list(part["path"]), overlays=folder, numbers=part.index, **options
            )
            for row in batch
        ]
    return pd.DataFrame({"row": rows})


def _results(parts, client):
    """Yield the partitions' row frames in order, as they finish (the client holds few at once)."""
    import dask

    if client is None:
        yield from dask.compute(*parts)
        return
    futures = client.compute(parts)
    for future in futures:
        yield future.result()
        future.release()


def predict_to_csv(
    model,
    images,
    out,
    *,
    scheduler=None,
    gradcam=True,
    threshold=None,
    positive_label=None,
    modality="auto",
    batch_size=16,
    target_layer=None,
    trust_pickle=False,
    chunksize=256,
):
    """Annotate scans on a Dask cluster: the ``predictions.csv`` and overlays of ``skcovid predict``.

    The workers run :func:`skcovid.explain.predict_rows` on their partitions (the model is
    scattered to each worker once), draw the overlays (Grad-CAM for torch models) into
    ``out/overlays`` and send back only the CSV rows; the client appends each partition's
    rows to ``out/predictions.csv`` (:class:`skcovid.explain.PredictionWriter`) in input
    order as they arrive, so the file has the columns, rows, order and overlay names of the
    local command (unreadable scans with their error) and keeps the finished partitions
    when the run is interrupted.

    Parameters
    ----------
    model : path-like
        A model saved by :func:`skcovid.persistence.dump`, an ``.onnx`` export, or (with
        ``trust_pickle=True``) a ``.joblib`` file, as ``skcovid predict --model`` takes.
    images : list of path-like
        Image files and/or folders (searched recursively for image files), on storage the
        workers can read.
    out : path-like
        Output folder on storage the workers can write to (created).
    scheduler : None, str or distributed.Client, default=None
        Where to run: see :func:`connect`.
    gradcam, threshold, positive_label, modality, batch_size, target_layer, trust_pickle
        As the options of ``skcovid predict`` (``--gradcam``, ``--threshold``, ...,
        ``--trust-pickle``).
    chunksize : int, default=256
        Scans per partition (a multiple of ``batch_size`` keeps the batches of the local
        command).

    Returns
    -------
    csv : pathlib.Path
        ``out/predictions.csv``.

    Raises
    ------
    ValueError
        For an unreadable model file, no image found, or an option out of range (the
        message of ``skcovid predict``).
    """
    require_dask()
    import dask.dataframe as dd
    import pandas as pd

    from .._cli_common import Abort
    from .._predict import collect_images, load_model
    from ..explain import PredictionWriter, predict_rows

    options = {
        "gradcam": gradcam,
        "threshold": threshold,
        "positive_label": positive_label,
        "modality": modality,
        "batch_size": batch_size,
        "target_layer": target_layer,
    }
    try:
        loaded, _ = load_model(model, trust_pickle=trust_pickle)
    except Abort as abort:
        raise ValueError(str(abort)) from None
    predict_rows(loaded, [], **options)  # checks the options on the client, before any work
    paths = collect_images(images)
    if not paths:
        raise ValueError(f"no image files found in {images}.")
    out = Path(out)
    overlays = out / "overlays"
    overlays.mkdir(parents=True, exist_ok=True)
    with connect(scheduler) as client, PredictionWriter(out / "predictions.csv") as writer:
        table = pd.DataFrame({"path": [str(p) for p in paths]})  # the index numbers the overlays
        table = dd.from_pandas(table, chunksize=chunksize, sort=False)
        frames = table.map_partitions(
            _predict_partition, ship(loaded, client), options, str(overlays), meta=pd.DataFrame({"row": []})
        )
        for frame in _results(frames.to_delayed(), client):
            writer.write(frame["row"])
    return writer.path
