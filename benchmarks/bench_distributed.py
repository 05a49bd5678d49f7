"""Scale-out on Dask: 1 process x 2 threads vs 2 workers x 1 thread, scheduler overhead, client memory.

Run from the repository root::

    python benchmarks/bench_distributed.py            # --quick: fewer images, 2,000-row stream

Three measurements, in one run on the same machine:

1. images/s of ``PretrainedEmbedder`` (resnet18, random weights, 128 px) on the same real
   images: in one process with 2 torch threads, and through ``ParallelPostFit`` on a
   ``LocalCluster`` of 2 worker processes x 1 thread (after a warm-up, so that the workers
   have imported torch and hold the model); and the largest difference between the two;
2. the scheduler's overhead per partition (a no-op over many one-row partitions);
3. a synthetic 20,000-row table (paths of small PNGs) streamed through
   ``ParallelPostFit.predict`` while a thread samples the client's resident memory: flat
   means the peak growth does not depend on the number of rows (compared with 2,000 rows).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REAL_DATA, report  # noqa: E402


class PeakRSS:
    """Sample this process's resident memory every 20 ms in a thread; ``peak - start`` in MiB."""

    def __enter__(self):
        import psutil

        self._process, self._stop = psutil.Process(), threading.Event()
        self.start = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.growth_mib = (self.peak - self.start) / 2**20


def real_table(n_images):
    from skcovid.datasets import load_scan_folder

    if not (REAL_DATA / "X_Ray_Train").is_dir():
        sys.exit(f"real data not found at {REAL_DATA} (set SKCOVID_REAL_DATA)")
    table = load_scan_folder(REAL_DATA).data[["image", "modality", "patient"]]
    return table.sample(n=min(n_images, len(table)), random_state=0).reset_index(drop=True)


def synthetic_paths(folder, n_rows, n_files=200):
    """``n_rows`` rows cycling over ``n_files`` small synthetic PNGs written to ``folder``."""
    import pandas as pd

    from skcovid.datasets import load_scan_folder, make_synthetic_scans

    make_synthetic_scans(n_files, image_size=64, random_state=0, directory=folder)
    files = load_scan_folder(folder).data[["image", "modality", "patient"]]
    rows = np.arange(n_rows) % len(files)
    return files.iloc[rows].reset_index(drop=True), pd.Series(np.asarray(load_scan_folder(folder).target))


def _noop(part):
    return part


def throughput(client, n_images, image_size, chunksize):
    import torch

    from skcovid.distributed import ParallelPostFit, to_dask_table
    from skcovid.embedders import PretrainedEmbedder

    X = real_table(n_images)
    embedder = PretrainedEmbedder("resnet18", image_size=image_size, random_state=0, device="cpu").fit(X)
    torch.set_num_threads(2)
    embedder.transform(X.iloc[:32])  # warm-up
    start = time.perf_counter()
    local = embedder.transform(X)
    local_s = time.perf_counter() - start
    torch.set_num_threads(1)
    wrapped, table = ParallelPostFit(embedder), to_dask_table(X, chunksize=chunksize)
    warm = to_dask_table(X.iloc[:64], chunksize=32)
    wrapped.transform(warm).compute()  # the workers import torch and receive the model
    start = time.perf_counter()
    out = wrapped.transform(table).compute()
    dask_s = time.perf_counter() - start
    diff = float(np.abs(out.filter(like="emb_").to_numpy() - local.filter(like="emb_").to_numpy()).max())
    rows = [
        {"case": "1 process x 2 threads", "images": len(X), "seconds": local_s,
         "images_per_s": len(X) / local_s},
        {"case": "2 workers x 1 thread (ParallelPostFit)", "images": len(X), "seconds": dask_s,
         "images_per_s": len(X) / dask_s, "ratio": local_s / dask_s, "max_abs_diff": diff},
    ]
    return rows


def overhead(client, n_partitions=400):
    import dask.dataframe as dd
    import pandas as pd

    table = dd.from_pandas(pd.DataFrame({"x": np.arange(n_partitions)}), npartitions=n_partitions)
    table.map_partitions(_noop).compute()  # warm-up
    start = time.perf_counter()
    table.map_partitions(_noop).compute()
    return (time.perf_counter() - start) / n_partitions


def stream(client, folder, n_rows, chunksize):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from skcovid.distributed import ParallelPostFit, to_dask_table
    from skcovid.embedders import PretrainedEmbedder

    X, y = synthetic_paths(folder, n_rows)
    embed = PretrainedEmbedder("resnet18", image_size=32, random_state=0, device="cpu")
    model = make_pipeline(embed.set_output(transform="default"), LogisticRegression(max_iter=500))
    model.fit(X.iloc[:len(y)], y)
    table = to_dask_table(X, chunksize=chunksize)
    with PeakRSS() as memory:
        start = time.perf_counter()
        labels = ParallelPostFit(model).predict(table).compute()
        seconds = time.perf_counter() - start
    return {"rows": n_rows, "seconds": seconds, "images_per_s": n_rows / seconds,
            "client_rss_start_mib": memory.start / 2**20, "client_rss_peak_mib": memory.peak / 2**20,
            "client_rss_growth_mib": memory.growth_mib, "n_labels": len(labels)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and a 2,000-row stream only")
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--chunksize", type=int, default=64)
    parser.add_argument("--rows", type=int, nargs="+", default=None,
                        help="rows of the streamed table, one run each (default: 2000 20000; --quick: 2000)")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    load_before = [round(x, 2) for x in os.getloadavg()]
    n_images = 128 if args.quick else args.images
    sizes = args.rows or ([2_000] if args.quick else [2_000, 20_000])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"OMP_NUM_THREADS": "1"}) as cluster, Client(cluster) as client:
        rows = throughput(client, n_images, args.image_size, args.chunksize)
        per_partition = overhead(client)
        with tempfile.TemporaryDirectory() as folder:
            streams = [stream(client, Path(folder) / str(n), n, 256) for n in sizes]
    load_after = [round(x, 2) for x in os.getloadavg()]
    worker_rate = rows[1]["images_per_s"] / 2
    notes = (
        f"Embeddings of the two cases differ by at most {rows[1]['max_abs_diff']:.2g}. Target: 2 workers x 1 "
        f"thread >= 0.9x the images/s of 1 process x 2 threads; measured {rows[1]['ratio']:.2f}x.\n\n"
        f"Scheduler overhead: {per_partition * 1e3:.2f} ms per partition (no-op over 400 one-row "
        f"partitions, 2 workers).\n\n"
        "Streaming (ParallelPostFit.predict of resnet18 embeddings + logistic regression, 32 px synthetic "
        "PNGs, 256 rows per partition; client memory sampled every 20 ms):\n\n"
        + "\n".join(f"- {s['rows']:,} rows: {s['seconds']:.1f} s ({s['images_per_s']:.0f} images/s), "
                    f"client RSS {s['client_rss_start_mib']:.0f} MiB before, "
                    f"peak {s['client_rss_peak_mib']:.0f} MiB "
                    f"(growth {s['client_rss_growth_mib']:.1f} MiB)" for s in streams)
        + f"\n\nPer-worker rate (1 thread, {args.image_size} px): {worker_rate:.1f} images/s."
        + f"\n\nMachine load (1/5/15-min load averages) before: {load_before}, after: {load_after}; "
        "times and the scheduler overhead are inflated when other processes share the cores."
    )
    meta = {"per_partition_overhead_s": per_partition, "streams": streams,
            "load_average": [load_before, load_after], "per_worker_images_per_s": worker_rate,
            "image_size": args.image_size, "chunksize": args.chunksize}
    command = " ".join(["python benchmarks/bench_distributed.py", *sys.argv[1:]])
    report("bench_distributed", rows, meta=meta, command=command, notes=notes,
           columns=["case", "images", "seconds", "images_per_s", "ratio", "max_abs_diff"])


if __name__ == "__main__":
    main()
