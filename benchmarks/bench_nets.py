"""End-to-end image estimators on the real scans: speed vs plain torch, accuracy and Dice.

Run ``python benchmarks/bench_nets.py`` (about 10 minutes on 2 busy CPU cores). Two parts:

1. **Speed.** Images per second for one training epoch and for inference, for the
   skcovid estimator and for a hand-written torch loop over the *same* network, loss and
   optimiser with the same data pipeline settings (PIL decode + resize in a DataLoader
   with the same ``num_workers``, batch size and torch threads). Estimator and loop are
   run alternately ``--repeats`` times and the medians are compared in one run.
2. **Quality on the Test split** after a fixed CPU budget (stated in each row: epochs,
   pixel size, training rows), for a small configuration of each model, from random
   weights (no downloads): ImageClassifier (resnet18) on all X-rays and CT slices,
   MultiTaskUNet (small widths) on the X-rays (Dice on the masked test X-rays),
   DRENet (resnet18 + FPN) on the CT slices.

Part B of the nets work (ONNX Runtime vs torch latency) may import :func:`real_split`,
:func:`small_model` and :func:`hand_dataset` and append its rows to :func:`main`'s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REAL_DATA, report  # noqa: E402

from skcovid.datasets import load_scan_folder  # noqa: E402
from skcovid.metrics import dice_score  # noqa: E402
from skcovid.modules._drenet import DRENetModule  # noqa: E402
from skcovid.modules._heads import BackboneMLPClassifier  # noqa: E402
from skcovid.modules._unet import MultiTaskLoss, MultiTaskUNetModule  # noqa: E402
from skcovid.nets import DRENetClassifier, ImageClassifier, MultiTaskUNet  # noqa: E402
from skcovid.preprocessing import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402

UNET_WIDTHS = (8, 16, 32, 64, 128)


def real_split(modalities=("xray", "ct"), split="train"):
    """The real scans of ``modalities`` in ``split``: (scan table, labels)."""
    bunch = load_scan_folder(REAL_DATA, split=split, modalities=list(modalities))
    return bunch.data.reset_index(drop=True), bunch.target.to_numpy()


def small_model(kind, *, image_size=64, max_epochs=1, **params):
    """A small, randomly initialised configuration of each estimator (CPU friendly)."""
    common = {"image_size": image_size, "max_epochs": max_epochs, "batch_size": 32, "device": "cpu",
              "random_state": 0, **params}
    if kind == "ImageClassifier":
        return ImageClassifier("resnet18", weights=None, lr=1e-3, **common)
    if kind == "MultiTaskUNet":
        return MultiTaskUNet(UNET_WIDTHS, lr=3e-3, **common)
    if kind == "DRENetClassifier":
        return DRENetClassifier("resnet18", weights=None, fpn_channels=64, head_channels=64,
                                optimizer="adamw", lr=1e-3, weight_decay=0.0, **common)
    raise ValueError(f"unknown kind {kind!r}")


def _hand_module(kind):
    """The network of ``small_model(kind)`` (same class, widths and seed) and its loss."""
    if kind == "ImageClassifier":
        return BackboneMLPClassifier("resnet18", 2, hidden=(256,), dropout=0.3, random_state=0), \
            torch.nn.CrossEntropyLoss()
    if kind == "MultiTaskUNet":
        weights = torch.ones(2)  # "balanced" weights are ~1 on these data; the cost is the same
        return MultiTaskUNetModule(1, 2, UNET_WIDTHS, random_state=0), MultiTaskLoss(class_weight=weights)
    return DRENetModule("resnet18", 2, fpn_channels=64, head_channels=64, random_state=0), \
        torch.nn.CrossEntropyLoss()


class hand_dataset(Dataset):  # noqa: N801 - reads as the function a user would write
    """What a user writes by hand: PIL open, gray, resize, scale, replicate, normalise."""

    def __init__(self, table, y, size, channels, with_masks=False):
        self.paths = table["image"].tolist()
        self.masks = table["mask"].tolist() if with_masks else None
        self.y = np.unique(y, return_inverse=True)[1]
        self.size, self.channels = size, channels
        mean, std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 else ((0.449,), (0.226,))
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as image:
            gray = image.convert("L").resize((self.size, self.size), Image.Resampling.BILINEAR)
        x = torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255.0)[None].expand(self.channels, -1, -1)
        x = (x - self.mean) / self.std
        if self.masks is None:
            return x, int(self.y[i])
        mask, has = torch.zeros(1, self.size, self.size), 0.0
        if isinstance(self.masks[i], str):
            with Image.open(self.masks[i]) as image:
                small = image.convert("L").resize((self.size, self.size), Image.Resampling.NEAREST)
            mask, has = torch.from_numpy(np.asarray(small) > 127).float()[None], 1.0
        return x, (int(self.y[i]), mask, torch.tensor(has))


def _hand_fit(kind, table, y, size, workers, batch_size):
    torch.manual_seed(0)
    module, loss_fn = _hand_module(kind)
    channels = 1 if kind == "MultiTaskUNet" else 3
    data = hand_dataset(table, y, size, channels, with_masks=kind == "MultiTaskUNet")
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, num_workers=workers,
                        drop_last=len(data) % batch_size == 1)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3, weight_decay=0.0)
    module.train()
    for x, target in loader:
        optimizer.zero_grad()
        loss_fn(module(x), target).backward()
        optimizer.step()
    return module, data


def _hand_predict(module, data, workers, batch_size):
    module.eval()
    outputs = []
    with torch.no_grad():
        for x, _ in DataLoader(data, batch_size=batch_size, num_workers=workers):
            out = module(x)
            outputs.append(torch.softmax(out[0] if isinstance(out, tuple) else out, 1))
    return torch.cat(outputs).numpy()


def speed_rows(kinds, *, n_images, size, workers, repeats, batch_size=32):
    """Images/s of one training epoch and of inference: estimator vs hand-written loop."""
    table, y = real_split(("xray",))
    rows_idx = np.random.default_rng(0).permutation(len(table))[:n_images]
    table, y = table.iloc[rows_idx], y[rows_idx]
    rows = []
    for kind in kinds:
        times = {"fit": [], "hand_fit": [], "predict": [], "hand_predict": []}
        warm = np.r_[np.flatnonzero(y == y[0])[:4], np.flatnonzero(y != y[0])[:4]]  # untimed warm-up
        small_model(kind, image_size=size, validation_fraction=None, batch_size=8).fit(
            table.iloc[warm], y[warm]).predict_proba(table.iloc[warm])
        _hand_predict(*_hand_fit(kind, table.iloc[warm], y[warm], size, 0, 8), 0, 8)
        for _ in range(repeats):  # interleaved: estimator, loop, estimator, loop ...
            start = time.perf_counter()
            model = small_model(kind, image_size=size, validation_fraction=None, num_workers=workers,
                                batch_size=batch_size).fit(table, y)
            times["fit"].append(time.perf_counter() - start)
            start = time.perf_counter()
            module, data = _hand_fit(kind, table, y, size, workers, batch_size)
            times["hand_fit"].append(time.perf_counter() - start)
            start = time.perf_counter()
            model.predict_proba(table)
            times["predict"].append(time.perf_counter() - start)
            start = time.perf_counter()
            _hand_predict(module, data, workers, batch_size)
            times["hand_predict"].append(time.perf_counter() - start)
        median = {key: statistics.median(value) for key, value in times.items()}
        print(f"speed {kind}: {median}", file=sys.stderr, flush=True)
        for phase in ("fit", "predict"):
            rows.append({
                "part": "speed", "model": kind, "phase": "train epoch" if phase == "fit" else "inference",
                "setting": f"{n_images} X-rays, {size}px, batch {batch_size}, workers {workers}",
                "skcovid img/s": n_images / median[phase],
                "torch loop img/s": n_images / median[f"hand_{phase}"],
                "ratio": median[f"hand_{phase}"] / median[phase],
            })
    return rows


def quality_rows(kinds, *, size, epochs):
    """Accuracy (and Dice) on the Test split after a fixed number of epochs from random weights."""
    plan = {"ImageClassifier": ("xray", "ct"), "MultiTaskUNet": ("xray",), "DRENetClassifier": ("ct",)}
    rows = []
    for kind in kinds:
        X, y = real_split(plan[kind])
        X_test, y_test = real_split(plan[kind], split="test")
        start = time.perf_counter()
        model = small_model(kind, image_size=size, max_epochs=epochs[kind], validation_fraction=0.1,
                            patience=None).fit(X, y)
        seconds = time.perf_counter() - start
        row = {"part": "quality", "model": kind,
               "setting": f"{'+'.join(plan[kind])}, {len(X)} train rows, {epochs[kind]} epochs, {size}px",
               "train s": seconds, "test accuracy": float(np.mean(model.predict(X_test) == y_test))}
        if kind == "MultiTaskUNet":
            masked = X_test["mask"].notna().to_numpy()
            row["test Dice"] = model.score_report(X_test[masked], y_test[masked])["dice"]
            truth = [model.preprocessor_.resize_mask(m) > 0.5 for m in X_test.loc[masked, "mask"]]
            row["all-ones Dice"] = dice_score(truth, np.ones((masked.sum(), size, size), dtype=bool))
        row["majority accuracy"] = float(max(np.mean(y_test == c) for c in np.unique(y_test)))
        print(f"quality: {row}", file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: shared CPUs)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for both sides")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--speed-images", type=int, default=64)
    parser.add_argument("--speed-size", type=int, default=128)
    parser.add_argument("--size", type=int, default=64, help="pixels of the quality runs")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the quality runs")
    parser.add_argument("--no-report", action="store_true", help="print rows, do not write results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    kinds = ("ImageClassifier", "MultiTaskUNet", "DRENetClassifier")
    epochs = dict.fromkeys(kinds, args.epochs)
    rows = speed_rows(kinds, n_images=args.speed_images, size=args.speed_size, workers=args.workers,
                      repeats=args.repeats)
    rows += quality_rows(kinds, size=args.size, epochs=epochs)
    if not args.no_report:
        report(
            "bench_nets", rows, command="python benchmarks/bench_nets.py",
            meta={"threads": args.threads, "workers": args.workers, "repeats": args.repeats,
                  "epochs": epochs},
            columns=["part", "model", "phase", "setting", "skcovid img/s", "torch loop img/s", "ratio",
                     "train s", "test accuracy", "test Dice", "all-ones Dice", "majority accuracy"],
            notes=(
                "Speed: median of interleaved repeats; ratio = hand-loop time / skcovid time (1 = same "
                "speed, < 1 = skcovid slower). Train epoch times include building the network. "
                "Quality: random initialisation (no pretrained weights), a fixed number of epochs "
                "(validation loss on a patient-grouped 10 % of the training rows is recorded, early "
                "stopping is off); the Test split is used only for scoring. X-ray accuracy is "
                "inflated by the source shortcut (paediatric non-COVID X-rays) described in the data "
                "README; CT scores are optimistic (slices of one scan "
                "may sit on both sides)."
            ),
        )
    return rows


if __name__ == "__main__":
    main()
