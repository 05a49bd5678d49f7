"""Files -> embeddings: PretrainedEmbedder vs a hand-written loop, and a cached GridSearchCV.

Run ``python benchmarks/bench_embedding.py`` (512 real images by default, ``--n-images``
to change). Throughput is measured in two fresh child processes, one with glibc's default
allocator and one after :func:`skcovid.embedders.tune_malloc`, each timing both sides
interleaved (``--repeats`` times, medians reported). The grid search (5 folds x 4 head
settings) runs in this process with the default allocator.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REAL_DATA, markdown_table, report  # noqa: E402

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _scans(n_images, seed=0):
    from skcovid.datasets import load_scan_folder

    table = load_scan_folder(REAL_DATA)
    frame, target = table.data, np.asarray(table.target)
    n = min(n_images, len(frame))
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), n, replace=False))
    return frame.iloc[rows].reset_index(drop=True), target[rows]


class HandDataset:
    """The honest hand-written input pipeline: PIL decode + uint8 resize + one fused normalisation."""

    def __init__(self, paths, size):
        self.paths, self.size = list(paths), size
        std = np.asarray(STD, dtype=np.float32)[:, None, None]
        self.scale = 1.0 / (255.0 * std)
        self.shift = np.asarray(MEAN, dtype=np.float32)[:, None, None] / std

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        import torch
        from PIL import Image

        with Image.open(self.paths[index]) as image:
            image = image.convert("L").resize((self.size, self.size), Image.Resampling.BILINEAR)
        gray = np.asarray(image, dtype=np.float32)[None]
        return torch.from_numpy(gray * self.scale - self.shift)


def hand_written(model, paths, size, batch_size, num_workers):
    import torch
    from torch.utils.data import DataLoader

    loader = DataLoader(HandDataset(paths, size), batch_size=batch_size, num_workers=num_workers)
    out = []
    with torch.inference_mode():
        for batch in loader:
            out.append(model(batch.contiguous(memory_format=torch.channels_last)).numpy())
    return np.concatenate(out)


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def child(args):
    """Throughput of both sides for each image size under one allocator setting."""
    import torch
    import torchvision

    from skcovid.embedders import PretrainedEmbedder, tune_malloc

    if args.malloc == "tuned" and not tune_malloc():
        raise SystemExit("tune_malloc() failed on this platform")
    if args.threads:
        torch.set_num_threads(args.threads)
    X, _ = _scans(args.n_images)
    paths = X["image"].tolist()
    rows = []
    for size in args.sizes:
        ours = PretrainedEmbedder("resnet18", image_size=size, batch_size=args.batch_size,
                                  num_workers=args.num_workers, device="cpu", random_state=0).fit(X)
        model = torchvision.models.resnet18()
        model.fc = torch.nn.Identity()
        model = model.eval().to(memory_format=torch.channels_last)
        runs = {"PretrainedEmbedder": lambda: ours.transform(X),  # noqa: B023
                "hand-written loop": lambda: hand_written(model, paths, size,  # noqa: B023
                                                          args.batch_size, args.num_workers)}
        # warm-up (oneDNN primitives, page cache) on one batch each
        ours.transform(X.iloc[: args.batch_size])
        hand_written(model, paths[: args.batch_size], size, args.batch_size, args.num_workers)
        times = {name: [] for name in runs}
        for repeat in range(args.repeats):
            order = list(runs) if repeat % 2 == 0 else list(runs)[::-1]
            for name in order:
                times[name].append(_timed(runs[name]))
        for name, values in times.items():
            rows.append({"malloc": args.malloc, "image_size": size, "case": name,
                         "median_s": float(np.median(values)), "runs_s": [round(v, 2) for v in values],
                         "images_per_s": len(X) / float(np.median(values))})
        # preprocessing alone, per image (both in this process, no workers)
        pre, hand = ours.preprocessor_, HandDataset(paths, size)
        decode = {"ScanPreprocessor": lambda: [pre(p, "xray") for p in paths[:200]],  # noqa: B023
                  "PIL uint8 resize": lambda: [hand[i] for i in range(min(200, len(paths)))]}  # noqa: B023
        for name, function in decode.items():
            rows.append({"malloc": args.malloc, "image_size": size, "case": f"decode+preprocess: {name}",
                         "ms_per_image": 1000 * _timed(function) / min(200, len(paths))})
    Path(args.child_output).write_text(json.dumps(rows))


def grid_search(args):
    """5-fold x 4-setting GridSearchCV over the head, with and without the embedding cache."""
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skcovid.embedders import (
        PretrainedEmbedder,
        clear_embedding_cache,
        forward_pass_count,
        reset_forward_pass_count,
    )

    if args.threads:
        torch.set_num_threads(args.threads)
    X, y = _scans(args.n_images)
    groups = X["patient"].to_numpy()
    grid = {"clf__logisticregression__C": [0.01, 0.1, 1.0, 10.0]}
    cv = GroupKFold(n_splits=5)

    def head():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

    def embedder(cache):
        return PretrainedEmbedder("resnet18", image_size=args.grid_size, batch_size=args.batch_size,
                                  num_workers=args.num_workers, device="cpu", random_state=0,
                                  cache=cache).set_output(transform="default")

    head_grid = {"logisticregression__C": grid["clf__logisticregression__C"]}
    times = {"cached": [], "pass": [], "heads": []}
    for _ in range(args.grid_repeats):  # interleaved: the machine's load changes over minutes
        clear_embedding_cache()
        reset_forward_pass_count()
        search = GridSearchCV(Pipeline([("emb", embedder(True)), ("clf", head())]), grid, cv=cv)
        times["cached"].append(_timed(lambda: search.fit(X, y, groups=groups)))  # noqa: B023
        cached_passes = forward_pass_count()
        box = {}
        times["pass"].append(_timed(lambda: box.update(E=embedder(None).fit(X).transform(X))))  # noqa: B023
        head_search = GridSearchCV(head(), head_grid, cv=cv)
        times["heads"].append(_timed(lambda: head_search.fit(box["E"], y, groups=groups)))  # noqa: B023
    reset_forward_pass_count()
    uncached = GridSearchCV(Pipeline([("emb", embedder(None)), ("clf", head())]), grid, cv=cv)
    uncached_s = _timed(lambda: uncached.fit(X, y, groups=groups))
    median = {name: float(np.median(values)) for name, values in times.items()}
    budget = median["pass"] + median["heads"]
    rows = [
        {"case": "GridSearchCV 5x4, cache=True", "image_size": args.grid_size, "median_s": median["cached"],
         "runs_s": [round(v, 2) for v in times["cached"]], "forward_passes": cached_passes,
         "best_cv_accuracy": float(search.best_score_)},
        {"case": "GridSearchCV 5x4, cache=None", "image_size": args.grid_size, "median_s": uncached_s,
         "runs_s": [round(uncached_s, 2)], "forward_passes": forward_pass_count(),
         "best_cv_accuracy": float(uncached.best_score_)},
        {"case": "one embedding pass", "image_size": args.grid_size, "median_s": median["pass"],
         "runs_s": [round(v, 2) for v in times["pass"]], "forward_passes": len(X)},
        {"case": "head-only search on precomputed embeddings", "image_size": args.grid_size,
         "median_s": median["heads"], "runs_s": [round(v, 2) for v in times["heads"]], "forward_passes": 0},
    ]
    meta = {"one_pass_s": median["pass"], "head_search_s": median["heads"],
            "cached_over_budget": median["cached"] / budget}
    return rows, meta


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=512)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 128])
    parser.add_argument("--grid-size", type=int, default=128, help="image size of the grid-search benchmark")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--grid-repeats", type=int, default=3)
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--malloc", choices=["default", "tuned"], help=argparse.SUPPRESS)
    parser.add_argument("--child-output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_output:
        return child(args)

    rows = []
    for setting in () if args.skip_throughput else ("default", "tuned"):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            output = handle.name
        command = [sys.executable, __file__, "--malloc", setting, "--child-output", output,
                   "--n-images", str(args.n_images), "--batch-size", str(args.batch_size),
                   "--num-workers", str(args.num_workers), "--threads", str(args.threads),
                   "--repeats", str(args.repeats), "--sizes", *map(str, args.sizes)]
        subprocess.run(command, check=True)
        rows += json.loads(Path(output).read_text())
        os.unlink(output)
    for row in rows:  # ratio to the hand-written loop of the same allocator and size
        if row["case"] == "PretrainedEmbedder":
            hand = next(r for r in rows if r["case"] == "hand-written loop" and r["malloc"] == row["malloc"]
                        and r["image_size"] == row["image_size"])
            row["ratio_vs_hand"] = row["images_per_s"] / hand["images_per_s"]
    meta = {"n_images": args.n_images, "batch_size": args.batch_size, "num_workers": args.num_workers,
            "threads": args.threads or "default", "repeats": args.repeats, "backbone": "resnet18",
            "weights": None, "target_ratio_vs_hand": 0.9, "target_cached_over_budget": 1.2}
    throughput = [r for r in rows if "images_per_s" in r]
    decode = [r for r in rows if "ms_per_image" in r]
    grid_rows = []
    if not args.skip_grid:
        grid_rows, grid_meta = grid_search(args)
        meta.update(grid_meta)
    notes = (
        "Throughput: resnet18 (random weights, fp32, batch "
        f"{args.batch_size}, {args.num_workers} DataLoader workers), files -> embeddings, median of "
        f"{args.repeats} interleaved runs; `malloc=tuned` is `skcovid.embedders.tune_malloc()` in a fresh "
        "process, applied to both sides. Target: PretrainedEmbedder >= 0.9x the hand-written loop "
        "(PIL uint8 decode + resize in a DataLoader, the same model in channels_last under "
        "inference_mode).\n\n"
        "Decode + preprocess only (ms per image, 200 images, one process):\n\n"
        + markdown_table(decode, ["malloc", "image_size", "case", "ms_per_image"])
    )
    if grid_rows:
        notes += (
            f"\n\nGridSearchCV (median of {args.grid_repeats} interleaved runs, the uncached search once; "
            f"GroupKFold 5 x 4 values of C, StandardScaler + LogisticRegression head, "
            f"{args.grid_size} px): target cached search <= 1.2 x (one embedding pass + the head-only "
            f"search); measured {meta['cached_over_budget']:.2f}x.\n\n"
            + markdown_table(grid_rows, ["case", "image_size", "median_s", "runs_s", "forward_passes",
                                         "best_cv_accuracy"])
        )
    command = "python benchmarks/bench_embedding.py " + " ".join(sys.argv[1:])
    meta.update(decode_rows=decode, grid_rows=grid_rows)
    report("bench_embedding", throughput, meta=meta, command=command.strip(),
           columns=["malloc", "image_size", "case", "images_per_s", "ratio_vs_hand", "median_s", "runs_s"],
           notes=notes)
    print("\n" + notes)


if __name__ == "__main__":
    main()
