"""DataParallel: ``torchrun --nproc_per_node=2`` on the CPU (gloo) trains the same network in both processes,
equal to one process's fit on the same global batches when no batch-norm layer trains."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from skcovid.distributed import DataParallel
from skcovid.distributed._training import ShardedLoader

WORKER = Path(__file__).with_name("_ddp_worker.py")
TINY = SimpleNamespace(**runpy.run_path(str(WORKER)))


def without_durations(history):
    return [{key: value for key, value in epoch.items() if key != "dur"} for epoch in history]


def batches(history):
    return [[b["train_batch_size"] for b in epoch["batches"] if "train_batch_size" in b] for epoch in history]


@pytest.fixture(scope="module")
def ranks(synthetic_folder, tmp_path_factory):
    """Both configurations of _ddp_worker.py fitted by two processes started with torchrun."""
    out = tmp_path_factory.mktemp("ddp")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(WORKER),
        str(synthetic_folder[0]),
        str(out),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [torch.load(out / f"rank{rank}.pt", weights_only=False) for rank in (0, 1)]


@pytest.mark.parametrize("config", list(TINY.CONFIGS))
def test_both_processes_end_with_the_same_network_and_history(ranks, config):
    first, second = (rank[config] for rank in ranks)
    assert first["world_size"] == second["world_size"] == 2
    assert list(first["state"]) == list(second["state"])  # the plain network, not the DDP wrapper
    for name, tensor in first["state"].items():  # weights and batch-norm statistics
        assert torch.equal(tensor, second["state"][name]), name
    assert without_durations(first["history"]) == without_durations(second["history"])  # losses, best epochs


def test_equals_one_process_on_the_same_global_batches(ranks, synthetic_folder):
    from skcovid.datasets import load_scan_folder

    bunch = load_scan_folder(synthetic_folder[0])  # paths, as the processes read them
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = TINY.classifier(**TINY.CONFIGS["frozen_backbone"]).fit(bunch.data, bunch.target)
    finally:
        torch.set_num_threads(threads)
    parallel = ranks[0]["frozen_backbone"]
    history = single.history_.to_list()
    # each process trained on half of every batch of 16, the recorded loss is the global batch's
    assert batches(parallel["history"]) == batches(history) == [[16, 16, 16, 6]] * 2
    for key in ("train_loss", "valid_loss"):
        assert [e[key] for e in parallel["history"]] == pytest.approx([e[key] for e in history], abs=1e-6)
    for name, tensor in single.module_.state_dict().items():
        torch.testing.assert_close(parallel["state"][name], tensor, rtol=0, atol=1e-5, msg=name)
    trained = ranks[0]["trained_batch_norm"]["history"]  # the whole network trained too
    assert trained[-1]["train_loss"] < trained[0]["train_loss"]


def test_sharded_loader_splits_the_global_batches():
    data = torch.utils.data.TensorDataset(torch.arange(7))
    kwargs = dict(batch_size=4, shuffle=True, drop_last=False)
    shares = [
        list(
            ShardedLoader(torch.utils.data.DataLoader, rank, 2)(
                data, generator=torch.Generator().manual_seed(0), **kwargs
            )
        )
        for rank in (0, 1)
    ]
    whole = list(torch.utils.data.DataLoader(data, generator=torch.Generator().manual_seed(0), **kwargs))
    assert len(shares[0]) == len(shares[1]) == len(whole) == 2
    for share0, share1, batch in zip(*shares, whole):
        assert sorted(torch.cat([share0[0], share1[0]]).tolist()) == sorted(batch[0].tolist())
        assert share0[0].tolist() == batch[0][0::2].tolist()
    third = ShardedLoader(torch.utils.data.DataLoader, 2, 3)(data, batch_size=5)  # [0..4] and [5, 6]
    assert [b[0].tolist() for b in third] == [[2]]  # a batch smaller than the world is skipped by all


def test_errors_name_the_fix(synthetic_folder, monkeypatch, tmp_path):
    X, y = synthetic_folder[1].data.iloc[:20], synthetic_folder[1].target.iloc[:20]
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="launch the script with torchrun"):
        TINY.classifier(callbacks=[DataParallel()]).fit(X, y)
    with pytest.raises(ValueError, match="random_state set to the same int in every process"):
        TINY.classifier(callbacks=[DataParallel()]).set_params(random_state=None).fit(X, y)
    with pytest.raises(ValueError, match="does not support checkpoint="):
        TINY.classifier(callbacks=[DataParallel()], checkpoint=tmp_path).fit(X, y)
    assert DataParallel().get_params() == {"backend": None, "find_unused_parameters": False}
