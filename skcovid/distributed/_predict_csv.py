"""``predict_to_csv``: the CSV and overlays of ``skcovid predict``, computed on a Dask cluster."""

from __future__ import annotations

import os
import threading
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

from ._client import connect, require_dask, ship

_CAM_LOCK = threading.Lock()  # Grad-CAM hooks the shared network: one partition at a time per process


def _predict_partition(part, model, kind, decider, options, folder, partition_info=None):
    """Read, predict and draw the scans of one partition (the per-batch code of ``skcovid predict``)."""
    import pandas as pd

    from .._predict import _process_safely
    from ..preprocessing import read_scan

    if partition_info is None:  # dask's meta call: no work
        return pd.DataFrame({"row": [], "failed": []})
    overlays = Path(folder) / f".partition-{partition_info['number']}"
    overlays.mkdir(parents=True, exist_ok=True)
    cam = None
    if options.gradcam and kind == "torch":
        from ..explain import GradCAM

        cam = GradCAM(model, target_layer=options.target_layer)
    rows, failed, batch = [], [], []
    paths = [Path(p) for p in part["path"]]
    with _CAM_LOCK if cam is not None else nullcontext():
        for number, path in enumerate(paths):
            try:
                batch.append((path, read_scan(path)))
            except Exception as exc:  # ScanReadError, or anything a broken file raises
                failed.append((path, str(exc)))
            if len(batch) == options.batch_size or (number == len(paths) - 1 and batch):
                _process_safely(batch, failed, model, kind, decider, cam, options, overlays, rows)
                batch = []
    rows += [{"path": str(path), "predicted": "", "error": reason} for path, reason in failed]
    return pd.DataFrame({"row": rows, "failed": [False] * (len(rows) - len(failed)) + [True] * len(failed)})


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


def predict_to_csv(model, images, out, *, scheduler=None, gradcam=True, threshold=None, positive_label=None,
                   modality="auto", batch_size=16, target_layer=None, trust_pickle=False, chunksize=256):
    """Annotate scans on a Dask cluster: the ``predictions.csv`` and overlays of ``skcovid predict``.

    The workers read the scans, predict them with the model (scattered to each worker
    once), draw the overlays (Grad-CAM for torch models) into ``out/overlays`` and send back
    only the CSV rows; the client writes ``out/predictions.csv`` with the same columns,
    rows, order and overlay names as the local command (scans in input order, unreadable
    ones last with their error).

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

    from .. import _predict

    try:
        loaded, kind = _predict.load_model(model, trust_pickle=trust_pickle)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive; got {batch_size}.")
        decider = _predict._Decider(loaded.classes_, _predict.is_multilabel(loaded), threshold,
                                    positive_label, getattr(loaded, "thresholds_", None))
    except _predict._Abort as abort:
        raise ValueError(str(abort)) from None
    paths, missing = _predict.collect_images(images)
    if not paths and not missing:
        raise ValueError(f"no image files found in {images}.")
    out = Path(out)
    overlays = out / "overlays"
    overlays.mkdir(parents=True, exist_ok=True)
    options = SimpleNamespace(gradcam=gradcam, target_layer=target_layer, modality=modality,
                              batch_size=batch_size)
    rows, has_mask = [], False
    failed = [{"path": str(path), "predicted": "", "error": reason} for path, reason in missing]
    with connect(scheduler) as client:
        paths_table = pd.DataFrame({"path": [str(p) for p in paths]})
        table = dd.from_pandas(paths_table, chunksize=chunksize, sort=False)
        frames = table.map_partitions(_predict_partition, ship(loaded, client), kind, decider, options,
                                      str(overlays), meta=pd.DataFrame({"row": [], "failed": []}))
        for frame in _results(frames.to_delayed(), client):
            for row, is_failed in zip(frame["row"], frame["failed"]):
                (failed if is_failed else rows).append(row)
                if not is_failed and row["overlay"]:
                    final = overlays / f"{len(rows) - 1:04d}_{Path(row['path']).stem}.png"
                    os.replace(row["overlay"], final)
                    row["overlay"] = str(final)
                has_mask = has_mask or "mask_fraction" in row
    for folder in overlays.glob(".partition-*"):
        folder.rmdir()
    csv = out / "predictions.csv"
    _predict._write_csv(csv, rows + failed, decider.classes, has_mask)
    return csv
