"""Run by test_training.py under ``torchrun --nproc_per_node=2``: fit on every rank, save each rank's result.

Usage: ``torchrun --standalone --nproc_per_node=2 _ddp_worker.py SCAN_FOLDER OUT_FOLDER``.
"""

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from skcovid.datasets import load_scan_folder
from skcovid.distributed import DataParallel
from skcovid.nets import ImageClassifier

CONFIGS = {"trained_batch_norm": {}, "frozen_backbone": {"freeze": "backbone"}}


def classifier(**params):
    """The tiny classifier both test_training.py and this script fit (same global batch of 16)."""
    return ImageClassifier(
        weights=None,
        image_size=32,
        head_hidden=(16,),
        head_dropout=0.0,
        max_epochs=2,
        batch_size=16,
        random_state=0,
        device="cpu",
        **params,
    )


if __name__ == "__main__":
    torch.set_num_threads(1)
    bunch = load_scan_folder(sys.argv[1])
    results = {}
    for name, params in CONFIGS.items():
        model = classifier(callbacks=[DataParallel()], **params).fit(bunch.data, bunch.target)
        callback = next(cb for _, cb in model.net_.callbacks_ if isinstance(cb, DataParallel))
        results[name] = {
            "state": model.module_.state_dict(),
            "history": model.history_.to_list(),
            "world_size": callback.world_size_,
        }
    torch.save(results, Path(sys.argv[2]) / f"rank{dist.get_rank()}.pt")
    dist.destroy_process_group()
