"""CPU training speed: memory layout (contiguous against channels-last) and precision (fp32, bf16).

Run ``python benchmarks/bench_cpu_training.py`` (about 9 minutes on 2 cores). On the CPU the
image estimators put their network and every image batch in the channels-last memory
format, in fp32 as in bf16 (``ImageNeuralNet``); the baseline is fp32 in torch's default
contiguous layout, which is what a hand-written training loop gets. Three cases, alternated
``--repeats`` times, medians compared in one run: fp32 contiguous, fp32 channels-last,
bf16 (autocast) channels-last. Two parts:

1. **Networks.** One AdamW training step (forward, backward, update) per batch of random
   images, for each network the estimators build, at the sizes stated in the rows:
   milliseconds per image. ``max abs diff``: the largest difference between the two fp32
   layouts' outputs for the same weights and images (float rounding only).
2. **Estimator.** ``ImageClassifier("scan_cnn")`` with the from-scratch recipe of
   ``bench_recipe.py`` (augmentation, one-cycle schedule, 128 px) on ``--images`` real CT
   slices: training images per second over the epochs after the first (the decoded images
   are then cached; augmentation runs in the training process and costs the same in
   both precisions), with the layout switch of the library off for the contiguous case.

bf16 runs natively only on CPUs with AVX-512 BF16 or AMX (the notes under the table say which); elsewhere
torch emulates it and it is slower than fp32.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report  # noqa: E402
from bench_nets import real_split  # noqa: E402
from bench_recipe import model as recipe_model  # noqa: E402

from skcovid.modules import ScanCNN, build_backbone  # noqa: E402
from skcovid.modules._drenet import DRENetModule  # noqa: E402
from skcovid.modules._unet import MultiTaskUNetModule  # noqa: E402
from skcovid.nets import _callbacks  # noqa: E402
from skcovid.nets._recipe import bf16_supported  # noqa: E402

NETWORKS = [  # name, constructor, input channels, pixels, batch
    ("ScanCNN (width 16)", lambda: ScanCNN(2), 3, 128, 32),
    ("resnet18", lambda: build_backbone("resnet18"), 3, 128, 16),
    ("resnet18", lambda: build_backbone("resnet18"), 3, 224, 8),
    ("MultiTaskUNet module (default widths)", lambda: MultiTaskUNetModule(), 1, 128, 8),
    ("DRENet module (resnet50 + FPN)", lambda: DRENetModule(), 3, 224, 4),
]
CASES = [("fp32", False), ("fp32", True), ("bf16", True)]  # precision, channels-last
COLUMNS = {case: f"{case[0]} {'channels-last' if case[1] else 'contiguous'}" for case in CASES}


def _first(output):
    return output[0] if isinstance(output, (tuple, list)) else output


def _step_ms(make, channels, size, batch, precision, channels_last, steps):
    """Milliseconds per image of one training step, and the first forward output."""
    torch.manual_seed(0)
    network = make()
    x = torch.randn(batch, channels, size, size, generator=torch.Generator().manual_seed(1))
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(network.parameters(), 1e-3)
    network.eval()
    with torch.no_grad():
        reference = _first(network(x)).float().clone()
    network.train()

    def step():
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            output = _first(network(x))
        output.float().pow(2).mean().backward()
        optimizer.step()

    step()  # warm-up: oneDNN picks its kernels
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps / batch * 1000, reference


def _row(part, case, setting, unit, medians, faster):
    """One table row: the three medians and the two ratios (``faster(a, b)`` > 1 when b is faster)."""
    row = {"part": part, "case": case, "setting": setting, "unit": unit}
    row.update({COLUMNS[c]: medians[c] for c in CASES})
    row["channels-last speed-up (fp32)"] = faster(medians[CASES[0]], medians[CASES[1]])
    row["bf16 speed-up (channels-last)"] = faster(medians[CASES[1]], medians[CASES[2]])
    return row


def network_rows(repeats, steps):
    rows = []
    for name, make, channels, size, batch in NETWORKS:
        times, outputs = {case: [] for case in CASES}, {}
        for _ in range(repeats):
            for case in CASES:
                ms, outputs[case] = _step_ms(make, channels, size, batch, *case, steps)
                times[case].append(ms)
        row = _row("network", name, f"{size} px, batch {batch}", "ms per image, one training step",
                   {case: statistics.median(t) for case, t in times.items()}, lambda a, b: a / b)
        row["max abs diff"] = float((outputs[CASES[0]] - outputs[CASES[1]]).abs().max())
        rows.append(row)
        print(row, file=sys.stderr, flush=True)
    return rows


def estimator_rows(repeats, n_images, epochs):
    X, y = real_split(("ct",))
    keep = np.random.default_rng(1).choice(len(X), n_images, replace=False)
    X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    rates = {case: [] for case in CASES}
    switch = _callbacks.channels_last_safe  # the library's layout switch
    try:
        for _ in range(repeats):
            for precision, channels_last in CASES:
                _callbacks.channels_last_safe = switch if channels_last else (lambda module: False)
                fitted = recipe_model("new", backbone="scan_cnn", size=128, epochs=epochs,
                                      precision=precision).fit(X, y)
                seconds = statistics.median(fitted.history_[1:, "dur"])
                rates[precision, channels_last].append(n_images / seconds)
    finally:
        _callbacks.channels_last_safe = switch
    row = _row("estimator", "ImageClassifier('scan_cnn'), from-scratch recipe",
               f"{n_images} CT slices, 128 px, epochs 2-{epochs}", "training images per second",
               {case: statistics.median(r) for case, r in rates.items()}, lambda a, b: b / a)
    print(row, file=sys.stderr, flush=True)
    return [row]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4, help="timed training steps per network and repeat")
    parser.add_argument("--images", type=int, default=640, help="CT slices of the estimator part")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each estimator fit")
    parser.add_argument("--no-report", action="store_true", help="print rows, do not write results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = network_rows(args.repeats, args.steps) + estimator_rows(args.repeats, args.images, args.epochs)
    if not args.no_report:
        report(
            "bench_cpu_training", rows,
            command=" ".join(["python benchmarks/bench_cpu_training.py", *(argv or sys.argv[1:])]),
            meta={**vars(args), "native_bf16": bf16_supported("cpu")},
            columns=["part", "case", "setting", "unit", *COLUMNS.values(), "channels-last speed-up (fp32)",
                     "bf16 speed-up (channels-last)", "max abs diff"],
            notes=(
                f"Native bf16 on this CPU: {bf16_supported('cpu')}. Medians of alternated runs in one "
                "process; a speed-up > 1 means the second setting is faster (channels-last against "
                "contiguous in fp32; bf16 against fp32, both channels-last). The image estimators use "
                "channels-last on the CPU in both precisions. Networks from random weights on random "
                "images: only time matters; 'max abs diff' compares the two fp32 layouts' eval-mode outputs "
                "for the same weights and images."
            ),
        )
    return rows


if __name__ == "__main__":
    main()
