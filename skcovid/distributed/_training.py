"""Data-parallel training of the skorch-based estimators with torch's DistributedDataParallel."""

from __future__ import annotations

import os

import torch
from skorch.callbacks import Callback
from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

from ..utils import seed_everything

LAUNCH_HINT = "launch the script with torchrun, for example: torchrun --nproc_per_node=2 train.py"


class RankBatches:
    """This process's share of every global batch: rows ``rank``, ``rank + world_size``, ...

    Batches with fewer rows than processes are skipped (every process must take the same
    number of steps).
    """

    def __init__(self, batches, rank, world_size):
        self.batches = batches
        self.rank = rank
        self.world_size = world_size

    def __iter__(self):
        for batch in self.batches:
            if len(batch) >= self.world_size:
                yield batch[self.rank :: self.world_size]

    def __len__(self):
        return len(self.batches)


class ShardedLoader:
    """skorch ``iterator_train``: the global batches of one process, split between the processes.

    The batches are drawn as the wrapped loader would draw them (same sampler, same
    generator, same ``drop_last``), so every process walks the same sequence of global
    batches and takes its share of each.
    """

    def __init__(self, loader, rank, world_size):
        self.loader = loader
        self.rank = rank
        self.world_size = world_size

    def __call__(self, dataset, *, batch_size, shuffle=False, drop_last=False, generator=None, **kwargs):
        sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        batches = RankBatches(BatchSampler(sampler, batch_size, drop_last), self.rank, self.world_size)
        return self.loader(dataset, batch_sampler=batches, generator=generator, **kwargs)


def _start_process_group(backend, device):
    import torch.distributed as dist

    missing = [
        name for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f"DataParallel found no process group and no {', '.join(missing)} in the environment: "
            f"{LAUNCH_HINT} (or call torch.distributed.init_process_group yourself before fit)."
        )
    if backend is None:
        backend = "nccl" if str(device).startswith("cuda") and dist.is_nccl_available() else "gloo"
    dist.init_process_group(backend)


class DataParallel(Callback):
    """Train an image estimator data-parallel over processes, with torch's DistributedDataParallel.

    Pass it in the ``callbacks`` of a skorch-based estimator
    (:class:`~skcovid.nets.ImageClassifier`, :class:`~skcovid.nets.MultiTaskUNet`,
    :class:`~skcovid.nets.DRENetClassifier`, :class:`~skcovid.embedders.FineTunedEmbedder`)
    and run the same script in every process, for example with
    ``torchrun --nproc_per_node=2 train.py`` (see the "Scaling out" page). During ``fit``:

    - the network is wrapped in :class:`torch.nn.parallel.DistributedDataParallel`, which
      starts from the parameters of process 0 and averages the gradients of every step
      over the processes, so every process ends with the same weights;
    - ``batch_size`` stays the global batch: every process draws the same shuffled batches
      and trains on its share (rows ``rank``, ``rank + world_size``, ... of each), so the
      learning rate and schedule mean what they mean in one process; the recorded
      ``train_loss`` is the mean over the global batch;
    - every process evaluates the whole validation split with the same weights and
      batch-norm statistics (those of process 0), so early stopping stops all of them at
      the same epoch.

    After ``fit`` the estimator holds the plain network, to save (from process 0) and use
    in one process like any other.

    Parameters
    ----------
    backend : None or str, default=None
        Backend of the process group this callback starts when none is running: None
        picks ``"nccl"`` for a CUDA ``device`` and ``"gloo"`` (CPU) otherwise.
    find_unused_parameters : bool, default=False
        Passed to ``DistributedDataParallel``; needed only by networks with parameters that
        some steps do not use.

    Attributes
    ----------
    rank_ : int
        This process's rank in the last ``fit``.
    world_size_ : int
        Number of processes of the last ``fit``.

    Notes
    -----
    Every process needs the same data and the same int ``random_state`` (the validation
    split and the batches come from it). When the trained layers have no dropout and no
    batch normalisation and there is no augmentation, the result equals one process's fit
    with the same ``batch_size`` up to rounding. Otherwise it is a fit of the same recipe,
    not the same numbers: dropout and augmentation draw other random numbers in each
    process, and batch normalisation normalises each process's share with its own
    statistics (torch synchronises batch norm across processes only on GPUs,
    :class:`torch.nn.SyncBatchNorm`), which acts like a smaller batch for those layers.
    ``checkpoint`` is not supported (every process would write the same folder). On GPUs,
    give each process its own device (``device=f"cuda:{os.environ['LOCAL_RANK']}"``).

    Examples
    --------
    >>> from skcovid.distributed import DataParallel
    >>> from skcovid.nets import ImageClassifier
    >>> model = ImageClassifier(weights=None, random_state=0, callbacks=[DataParallel()])
    """

    def __init__(self, *, backend=None, find_unused_parameters=False):
        self.backend = backend
        self.find_unused_parameters = find_unused_parameters

    def on_train_begin(self, net, **kwargs):
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        generator = getattr(net, "iterator_train__generator", None)
        if generator is None:
            raise ValueError(
                "DataParallel needs the estimator's random_state set to the same int in every process "
                "(it draws the validation split and the batches); got random_state=None."
            )
        if any(name == "resume_checkpoint" for name, _ in net.callbacks_):
            raise ValueError(
                "DataParallel does not support checkpoint= (every process would write the same folder); "
                "set checkpoint=None."
            )
        if not dist.is_initialized():
            _start_process_group(self.backend, net.device)
        self.rank_, self.world_size_ = dist.get_rank(), dist.get_world_size()
        if self.rank_:  # dropout and augmentation: other numbers than process 0 (batches keep theirs)
            seed_everything(torch.initial_seed() + self.rank_)
        self.loader_ = net.iterator_train
        net.iterator_train = ShardedLoader(self.loader_, self.rank_, self.world_size_)
        net.module_ = DistributedDataParallel(net.module_, find_unused_parameters=self.find_unused_parameters)

    def on_batch_end(self, net, training=False, loss=None, **kwargs):
        if not training or loss is None:
            return
        import torch.distributed as dist

        size = net.history[-1, "batches", -1, "train_batch_size"]
        total = torch.tensor([loss.item() * size, size], dtype=torch.float64, device=net.device)
        dist.all_reduce(total)
        net.history.record_batch("train_loss", (total[0] / total[1]).item())
        net.history.record_batch("train_batch_size", int(total[1].item()))

    def on_train_end(self, net, **kwargs):
        import torch.distributed as dist

        if not isinstance(net.module_, torch.nn.parallel.DistributedDataParallel):
            return
        module = net.module_.module
        for buffer in module.buffers():  # batch-norm statistics: those of process 0 everywhere
            dist.broadcast(buffer.data, src=0)
        net.module_ = module
        net.iterator_train = self.loader_
        del self.loader_
