"""The from-scratch training recipe: precision, learning-rate schedules and cached, per-modality data."""

from __future__ import annotations

import math

import numpy as np

from ..preprocessing import ScanDataset


def bf16_supported(device="cpu"):
    """Whether bf16 autocast runs natively on ``device`` (AVX-512 BF16 / AMX on CPUs, CUDA GPUs).

    Parameters
    ----------
    device : str or torch.device, default="cpu"

    Returns
    -------
    bool
        On a CPU: torch reports AVX-512 BF16 or AMX tiles (``torch.cpu``'s support probes; False
        when this torch has neither probe). On CUDA: :func:`torch.cuda.is_bf16_supported`.

    Examples
    --------
    >>> isinstance(bf16_supported("cpu"), bool)
    True
    """
    import torch

    if str(device).startswith("cuda"):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    names = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    probes = [getattr(torch.cpu, name, None) for name in names]
    return any(bool(probe()) for probe in probes if probe is not None)


def resolve_precision(precision, device):
    """Turn ``precision`` ("fp32", "bf16", "auto") into "fp32" or "bf16" for ``device``.

    "auto" picks bf16 where :func:`bf16_supported` says the hardware runs it natively and
    fp32 elsewhere; "bf16" is honoured everywhere (on CPUs without bf16 instructions torch
    emulates it, which is slower than fp32).
    """
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return precision


def schedule(optimizer, *, kind, total_steps, warmup_steps=0, steps_per_epoch=1, last_epoch=-1):
    """A per-batch learning-rate schedule for skorch's ``LRScheduler`` (``policy=schedule``).

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    kind : {"cosine", "onecycle"}
        "cosine": linear warm-up from 1 % of ``lr`` over ``warmup_steps`` batches, then cosine
        decay to 0 (torch's ``LinearLR`` then ``CosineAnnealingLR`` in a ``SequentialLR``);
        "onecycle": torch's ``OneCycleLR`` with peak ``lr`` (warm-up share ``warmup_steps``).
    total_steps : int
        Training batches of the whole fit.
    warmup_steps : int, default=0
    steps_per_epoch : int, default=1
        Batches per epoch: a scheduler built at epoch ``last_epoch + 1`` (a resumed fit) is
        advanced by that many epochs of batches.
    last_epoch : int, default=-1
        Passed by skorch: the last finished epoch.

    Returns
    -------
    torch.optim.lr_scheduler.LRScheduler
    """
    from torch.optim import lr_scheduler

    total_steps = max(int(total_steps), 1)
    warmup_steps = min(int(warmup_steps), total_steps - 1)
    if kind == "onecycle":
        peak = [group["lr"] for group in optimizer.param_groups]
        scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=peak, total_steps=total_steps + 1,
                                            pct_start=(max(warmup_steps, 1) + 1) / (total_steps + 1))
    elif warmup_steps > 0:
        scheduler = lr_scheduler.SequentialLR(optimizer, [
            lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=warmup_steps),
            lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps - warmup_steps),
        ], milestones=[warmup_steps])
    else:
        scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    for _ in range((last_epoch + 1) * steps_per_epoch):
        scheduler.step()
    return scheduler


def steps_per_epoch(n_train, batch_size, drop_last):
    """Training batches per epoch."""
    return n_train // batch_size if drop_last else math.ceil(n_train / batch_size)


class MemoryCache:
    """Keep a preprocessor's outputs in memory, up to ``max_bytes`` (then compute the rest each time).

    Keys are the image (its path, or the identity of an in-memory array) and its modality,
    so two datasets over the same files share nothing but the preprocessor. Attributes the
    wrapped preprocessor has (``resize_mask``, ...) pass through.
    """

    def __init__(self, preprocessor, max_bytes):
        self.preprocessor = preprocessor
        self.max_bytes = max_bytes
        self.stored_ = {}
        self.nbytes_ = 0

    def __call__(self, image, modality=None):
        key = (image if isinstance(image, str) else id(image), modality)
        hit = self.stored_.get(key)
        if hit is not None:
            return hit.copy()  # an augmentation that works in place must not change the cache
        out = self.preprocessor(image, modality)
        if self.nbytes_ + out.nbytes <= self.max_bytes:
            self.stored_[key] = out
            self.nbytes_ += out.nbytes
            return out.copy()
        return out

    def __getattr__(self, name):
        if name == "preprocessor":  # not yet set (unpickling)
            raise AttributeError(name)
        return getattr(self.preprocessor, name)


class RecipeDataset(ScanDataset):
    """:class:`~skcovid.preprocessing.ScanDataset` with a per-modality augmentation and a memory cache.

    Parameters
    ----------
    X, preprocessor, y, with_masks
        As :class:`~skcovid.preprocessing.ScanDataset`.
    augment : None, callable or dict
        One augmentation for every row, or ``{modality: callable or None}`` (rows of a
        modality not in the dict are not augmented).
    cache_bytes : int, default=0
        Keep up to this many bytes of preprocessed images in memory (0: decode every time).
    """

    def __init__(self, X, preprocessor, y=None, *, with_masks=False, augment=None, cache_bytes=0):
        if cache_bytes:
            preprocessor = MemoryCache(preprocessor, cache_bytes)
        per_modality = isinstance(augment, dict)
        super().__init__(X, preprocessor, y, with_masks=with_masks, augment=None if per_modality else augment)
        self.augmenters = augment if per_modality else None

    def __getitem__(self, index):
        if self.augmenters is not None:
            self.augment = self.augmenters.get(self.modalities[index])
        return super().__getitem__(index)


def auc_score(scores, labels):
    """ROC AUC of validation logits: binary, one-vs-rest (several classes) or macro (multi-label).

    NaN when it is undefined (the validation rows hold a single class).
    """
    from sklearn.metrics import roc_auc_score

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if labels.ndim == 1 and len(np.unique(labels)) < 2:
        return float("nan")
    try:
        if labels.ndim == 2:
            return float(roc_auc_score(labels, scores, average="macro"))
        if scores.shape[1] == 2:
            return float(roc_auc_score(labels, scores[:, 1] - scores[:, 0]))
        shifted = np.exp(scores - scores.max(1, keepdims=True))
        return float(roc_auc_score(labels, shifted / shifted.sum(1, keepdims=True), multi_class="ovr",
                                   labels=np.arange(scores.shape[1])))
    except ValueError:  # a single class in the validation rows
        return float("nan")
