"""ONNX Runtime vs torch eager inference latency of skcovid's image models on the real scans (CPU).

Run ``python benchmarks/bench_onnx.py`` (a few minutes on 2 busy CPU cores).

For a small configuration of each model (ImageClassifier resnet18 at 224 and 128 px,
MultiTaskUNet with small widths at 128 px, DRENet resnet18 + FPN at 224 px) the estimator is
fitted for one epoch on 16 real training scans from random weights (``weights=None``: only
latency matters here, not accuracy), exported with :func:`skcovid.export.export_onnx`, and
the same network computes probabilities (and mask probabilities for the UNet) on real
*test* scans, preprocessed once with the estimator's own ``ScanPreprocessor``:

- torch: ``module_`` in eval mode under ``torch.inference_mode()`` plus softmax/sigmoid
  (the wrapper that is exported), eager;
- ONNX Runtime: ``InferenceSession.run`` with ``intra_op_num_threads`` equal to torch's
  thread count (``--threads``, default 1: on the shared 2-core machine, where other jobs
  run, two OpenMP threads per engine spin and the timings mean nothing).

Batches of 1 and 32; the two engines are timed alternately (warm-up first) and the medians
are compared in the same run. Preprocessing (identical numpy code for both) is excluded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REAL_DATA, report  # noqa: E402
from bench_nets import real_split, small_model  # noqa: E402

from skcovid.export import export_onnx  # noqa: E402
from skcovid.export._onnx_export import _probability_module  # noqa: E402

CONFIGS = (("ImageClassifier", 224), ("ImageClassifier", 128), ("MultiTaskUNet", 128),
           ("DRENetClassifier", 224))


def training_rows(kind, n=16):
    """16 real training scans; for the UNet, masked COVID X-rays plus unmasked Non_COVID ones."""
    table, y = real_split(("xray",) if kind == "MultiTaskUNet" else ("xray", "ct"), split="train")
    if kind == "MultiTaskUNet":
        masked = np.flatnonzero(table["mask"].notna().to_numpy())[: n // 2]
        other = np.flatnonzero(y != y[masked[0]])[: n - len(masked)]
        rows = np.concatenate([masked, other])
    else:
        rng = np.random.default_rng(0)
        rows = np.concatenate([rng.choice(np.flatnonzero(y == c), n // 2, replace=False)
                               for c in np.unique(y)])
    return table.iloc[rows], y[rows]


def onnx_session(path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def median_ms(fn_torch, fn_onnx, repeats, warmup=2):
    """Medians (ms) of alternate calls of the two functions."""
    for _ in range(warmup):
        fn_torch()
        fn_onnx()
    times = {"torch": [], "onnx": []}
    for i in range(repeats):
        order = [("torch", fn_torch), ("onnx", fn_onnx)]
        for name, fn in order if i % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            fn()
            times[name].append(1000 * (time.perf_counter() - start))
    return statistics.median(times["torch"]), statistics.median(times["onnx"])


def config_rows(kind, size, test_table, folder, *, repeats):
    X, y = training_rows(kind)
    start = time.perf_counter()
    estimator = small_model(kind, image_size=size, max_epochs=1, validation_fraction=None).fit(X, y)
    fit_s = time.perf_counter() - start
    path = export_onnx(estimator, Path(folder) / f"{kind}-{size}.onnx")
    session = onnx_session(path)
    names = [o.name for o in session.get_outputs()]
    wrapper = _probability_module(estimator.module_.eval(), multilabel=False,
                                  n_classes=len(estimator.classes_))
    images = estimator.preprocessor_.transform(test_table)
    rows = []
    for batch in (1, 32):
        x = np.ascontiguousarray(images[:batch])
        tensor = torch.from_numpy(x)

        def run_torch(tensor=tensor):
            with torch.inference_mode():
                return wrapper(tensor)

        def run_onnx(x=x):
            return session.run(names, {"image": x})

        torch_out, onnx_out = run_torch(), run_onnx()
        torch_out = torch_out if isinstance(torch_out, tuple) else (torch_out,)
        diff = max(float(np.abs(t.numpy() - o).max()) for t, o in zip(torch_out, onnx_out))
        torch_ms, onnx_ms = median_ms(run_torch, run_onnx, repeats if batch == 1 else max(5, repeats // 3))
        rows.append({
            "model": kind, "image_size": size, "batch": batch, "torch_ms": torch_ms, "onnx_ms": onnx_ms,
            "torch/onnx": torch_ms / onnx_ms, "onnx_img_per_s": 1000 * batch / onnx_ms,
            "max_abs_diff": diff, "outputs": "+".join(names), "fit_s (1 epoch, 16 scans)": fit_s,
        })
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per engine at batch 1")
    parser.add_argument("--quick", action="store_true", help="ImageClassifier at 128 px only, 5 repeats")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of each engine (default 1: on a busy shared machine two OpenMP "
                        "threads spin and the timings mean nothing)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not (REAL_DATA / "X_Ray_Test").is_dir():
        sys.exit(f"Real data not found at {REAL_DATA} (set SKCOVID_REAL_DATA).")
    test_table, _ = real_split(("xray", "ct"), split="test")
    test_table = test_table.sample(32, random_state=0)
    configs = CONFIGS[1:2] if args.quick else CONFIGS
    repeats = 5 if args.quick else args.repeats
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind, size in configs:
            rows += config_rows(kind, size, test_table, folder, repeats=repeats)
    import onnxruntime

    report(
        "bench_onnx", rows,
        meta={"repeats_batch1": repeats, "repeats_batch32": max(5, repeats // 3), "threads": args.threads,
              "onnxruntime": onnxruntime.__version__, "test_scans": 32, "weights": None,
              "training": "1 epoch on 16 real training scans"},
        command="python benchmarks/bench_onnx.py" + (" --quick" if args.quick else "")
        + (f" --threads {args.threads}" if args.threads != 1 else ""),
        notes=("Latency of the network alone (preprocessed real test scans, probabilities out; "
               "UNet: probabilities + mask). Models are untrained (random init, 1 epoch on 16 scans): "
               "only latency matters. `torch/onnx` > 1 means ONNX Runtime is faster; medians of "
               "alternate calls in one run; both engines use the same number of threads "
               f"({args.threads}). "
               "`max_abs_diff`: largest difference between the two engines' outputs."),
    )


if __name__ == "__main__":
    main()
