"""Streaming predict (predict_rows + PredictionWriter) vs a hand-written loop: images/s and peak memory.

Run from the repository root::

    python benchmarks/bench_predict.py            # 20,000 scans; --rows 2000 for a quick run

Synthetic 64 px X-rays (``make_synthetic_scans``), copied to N distinct PNG files in a
temporary folder, go through the same tiny ``MultiTaskUNet`` (random weights: only speed
and memory matter) in two ways, each in a fresh process on one torch thread:

- ``streaming``: :func:`skcovid.explain.predict_rows` (no overlays, no Grad-CAM) with each
  batch appended to a CSV by :class:`skcovid.explain.PredictionWriter`, as
  ``skcovid predict`` does;
- ``hand loop``: read each scan, preprocess it (the model's ``preprocessor_``), one forward
  pass per batch under ``torch.inference_mode``, write the rows (probabilities, mask
  fraction) with ``csv.writer``.

Peak RSS is sampled every 10 ms while the scans are predicted (after a warm-up on 64
scans); its growth is measured from the resident memory before that. A smaller streaming run with overlays
and Grad-CAM (``--overlay-rows``) shows the cost of drawing.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report  # noqa: E402

BATCH = 32


def rss_mib():
    """This process's resident memory now (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakRSS:
    """The largest resident memory seen by a thread sampling every 10 ms (MiB)."""

    def __enter__(self):
        self.peak, self._stop = rss_mib(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mib())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())


def make_files(folder, n_rows, n_unique=200):
    """``n_rows`` distinct PNG files (copies of ``n_unique`` synthetic X-rays) and a fitted tiny UNet."""
    from PIL import Image

    from skcovid.datasets import make_synthetic_scans
    from skcovid.nets import MultiTaskUNet
    from skcovid.persistence import dump

    data = make_synthetic_scans(n_unique, modalities=("xray",), image_size=64, random_state=0)
    model = MultiTaskUNet(
        channels=(8, 16, 32),
        head_hidden=(16,),
        head_dropout=0.2,
        image_size=64,
        max_epochs=1,
        batch_size=16,
        validation_fraction=None,
        random_state=0,
        device="cpu",
    )
    model.fit(data.data.iloc[:32], data.target.to_numpy()[:32])
    dump(model, folder / "unet.skcovid")
    scans = folder / "scans"
    scans.mkdir()
    blobs = []
    for image in data.data["image"]:
        Image.fromarray(image).save(scans / "tmp.png")
        blobs.append((scans / "tmp.png").read_bytes())
    (scans / "tmp.png").unlink()
    for i in range(n_rows):
        (scans / f"scan{i:06d}.png").write_bytes(blobs[i % n_unique])
    return folder / "unet.skcovid", scans


def run_case(case, model_path, scans, out, n_rows):
    """Run one case in this process; return its measurements (called in a fresh process)."""
    import torch

    from skcovid.persistence import load

    torch.set_num_threads(1)
    model = load(model_path)
    paths = sorted(scans.glob("*.png"))[:n_rows]
    drawing = case.startswith("streaming + overlays")
    overlays = out.parent / "overlays" if drawing else None
    if overlays is not None:
        overlays.mkdir(exist_ok=True)
    loop = hand_loop if case == "hand loop" else streaming
    loop(model, paths[: 2 * BATCH], out, overlays)  # warm-up: first calls of torch and PIL
    before = rss_mib()
    with PeakRSS() as memory:
        start = time.perf_counter()
        loop(model, paths, out, overlays)
        seconds = time.perf_counter() - start
    peak = memory.peak
    with open(out, newline="") as handle:
        written = sum(1 for _ in csv.reader(handle)) - 1
    return {
        "case": case,
        "images": n_rows,
        "seconds": seconds,
        "images_per_s": n_rows / seconds,
        "rss_before_mib": before,
        "peak_rss_mib": peak,
        "rss_growth_mib": peak - before,
        "rows": written,
    }


def streaming(model, paths, out, overlays):
    """What ``skcovid predict`` runs: rows of each batch appended to the CSV as it finishes."""
    from skcovid.explain import PredictionWriter, predict_rows

    with PredictionWriter(out) as writer:
        for rows in predict_rows(
            model, paths, overlays=overlays, gradcam=overlays is not None, batch_size=BATCH
        ):
            writer.write(rows)


def hand_loop(model, paths, out, overlays=None):
    """Read, preprocess, forward and write, by hand: what a user would write around the module."""
    import torch

    from skcovid.preprocessing import read_scan

    module, preprocess = model.module_.eval(), model.preprocessor_
    classes = [str(c) for c in model.classes_]
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", *[f"proba_{c}" for c in classes], "mask_fraction"])
        for start in range(0, len(paths), BATCH):
            batch = paths[start : start + BATCH]
            x = torch.from_numpy(np.stack([preprocess(read_scan(p), "xray") for p in batch]))
            with torch.inference_mode():
                logits, masks = module(x)
            proba = torch.softmax(logits.double(), dim=1).numpy()
            fractions = (torch.sigmoid(masks[:, 0]) >= 0.5).float().mean(dim=(1, 2)).numpy()
            writer.writerows(
                [str(p), *[f"{v:.6f}" for v in row], f"{f:.4f}"] for p, row, f in zip(batch, proba, fractions)
            )
            handle.flush()


def in_fresh_process(case, model_path, scans, out, n_rows):
    command = [sys.executable, __file__, "--worker", case, str(model_path), str(scans), str(out), str(n_rows)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="scans in the main run (default: 20000)")
    parser.add_argument(
        "--small-rows",
        type=int,
        default=2_000,
        help="a streaming run on fewer scans, to see that memory does not grow with N",
    )
    parser.add_argument(
        "--overlay-rows",
        type=int,
        default=200,
        help="scans of the streaming run that also draws overlays with Grad-CAM",
    )
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        case, model_path, scans, out, n_rows = args.worker
        print(json.dumps(run_case(case, Path(model_path), Path(scans), Path(out), int(n_rows))))
        return
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        model_path, scans = make_files(folder, args.rows)
        cases = [
            ("streaming", args.rows),
            ("hand loop", args.rows),
            ("streaming", args.small_rows),
            ("streaming + overlays + Grad-CAM", args.overlay_rows),
        ]
        rows = []
        for i, (case, n) in enumerate(cases):
            (folder / str(i)).mkdir()
            rows.append(in_fresh_process(case, model_path, scans, folder / str(i) / "predictions.csv", n))
            print(rows[-1], flush=True)
    streaming, hand = rows[0], rows[1]
    ratios = {
        "images_per_s_ratio": streaming["images_per_s"] / hand["images_per_s"],
        "peak_rss_ratio": streaming["peak_rss_mib"] / hand["peak_rss_mib"],
        "rss_growth_small_vs_large_mib": [rows[2]["rss_growth_mib"], streaming["rss_growth_mib"]],
    }
    streaming["ratio_vs_hand"] = ratios["images_per_s_ratio"]
    notes = (
        f"Streaming vs hand loop on {args.rows:,} scans: {ratios['images_per_s_ratio']:.2f}x the images/s, "
        f"{ratios['peak_rss_ratio']:.2f}x the peak RSS. Memory growth of the streaming run: "
        f"{rows[2]['rss_growth_mib']:.0f} MiB for {args.small_rows:,} scans, "
        f"{streaming['rss_growth_mib']:.0f} MiB for {args.rows:,}.\n\n"
        "Tiny MultiTaskUNet (random weights, 64 px, channels (8, 16, 32)), batch 32, one torch thread, each "
        "case in a fresh process; N distinct 64 px PNG files. `streaming`: skcovid.explain.predict_rows "
        "(probabilities and mask from one forward pass per batch, no overlays) + PredictionWriter (rows "
        "appended and flushed per batch). `hand loop`: read_scan + the model's preprocessor_, one forward "
        "per batch under inference_mode, csv.writer. `rss_growth_mib`: peak RSS while predicting (sampled "
        "every 10 ms, after a 64-scan warm-up) minus the RSS before. The overlay row is `skcovid predict`'s "
        "default work (a 400 px PNG per scan with the Grad-CAM heatmap and mask contour), on fewer scans."
    )
    command = " ".join(["python benchmarks/bench_predict.py", *sys.argv[1:]])
    report(
        "bench_predict",
        rows,
        meta={"batch_size": BATCH, **ratios},
        command=command,
        notes=notes,
        columns=[
            "case",
            "images",
            "seconds",
            "images_per_s",
            "ratio_vs_hand",
            "rss_before_mib",
            "peak_rss_mib",
            "rss_growth_mib",
            "rows",
        ],
    )


if __name__ == "__main__":
    main()
