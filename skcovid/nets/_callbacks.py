"""The skorch net the image estimators train with, and its per-epoch validation scores."""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.helper import predefined_split

from ..utils._skorch import _silent
from ._recipe import auc_score, schedule, steps_per_epoch

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def channels_last_safe(module):
    """Whether ``module`` can train in the channels-last memory format on the CPU.

    Not when it has a 1x1 convolution with a stride above 1 and fewer than 16 input
    channels: oneDNN's channels-last backward of such a convolution writes past its
    workspace (a crash, a hang or wrong weight gradients; oneDNN issue 6035, open). A small
    ``MultiTaskUNet`` has one in its residual shortcuts.
    """
    return not any(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1) and max(m.stride) > 1
                   and m.in_channels < 16 for m in module.modules())


def _split_output(y_pred):
    return (y_pred[0], y_pred[1]) if isinstance(y_pred, (tuple, list)) else (y_pred, None)


def batch_dice(mask_logits, masks, has_mask):
    """Dice of the thresholded (logit > 0) masks of the rows that have a mask; 1 when both are empty."""
    rows = has_mask.reshape(-1) > 0
    pred = (mask_logits[rows] > 0).flatten(1)
    truth = (masks[rows] > 0.5).flatten(1)
    overlap = (pred & truth).sum(1).double()
    sizes = (pred.sum(1) + truth.sum(1)).double()
    return torch.where(sizes > 0, 2 * overlap / sizes.clamp(min=1), torch.ones_like(sizes)).tolist()


class EpochScores(Callback):
    """Record ``valid_acc``, ``valid_auc`` (and ``valid_dice`` for mask outputs) from the validation batches.

    Uses the predictions skorch already computed for the validation loss, so it costs no
    extra forward pass. For multi-label targets the accuracy is the mean per-label accuracy
    at probability 0.5 and the AUC the macro average; the Dice is the mean over the
    validation scans that have a mask. The AUC is NaN when the validation rows hold one class.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.correct_, self.total_, self.dice_ = 0.0, 0, []
        self.scores_, self.labels_ = [], []

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if training or y_pred is None:
            return
        logits, mask_logits = _split_output(y_pred)
        target = batch[1]
        labels = target[0] if isinstance(target, (tuple, list)) else target
        logits, labels = logits.detach().cpu(), labels.cpu()
        if labels.ndim == 2:  # multi-label indicator
            self.correct_ += float(((logits > 0) == (labels > 0.5)).float().mean(1).sum())
        else:
            self.correct_ += float((logits.argmax(1) == labels).sum())
        self.total_ += len(labels)
        self.scores_.append(logits.float().numpy())
        self.labels_.append(labels.numpy())
        if mask_logits is not None:
            self.dice_ += batch_dice(mask_logits.detach().cpu(), target[1].cpu(), target[2].cpu())

    def on_epoch_end(self, net, **kwargs):
        if self.total_:
            net.history.record("valid_acc", self.correct_ / self.total_)
            auc = auc_score(np.concatenate(self.scores_), np.concatenate(self.labels_))
            net.history.record("valid_auc", auc)
        self.scores_, self.labels_ = [], []  # do not keep (and pickle) the last epoch's outputs
        if self.dice_:
            net.history.record("valid_dice", float(np.mean(self.dice_)))


def _to_float(output):
    if isinstance(output, (tuple, list)):
        return type(output)(_to_float(o) for o in output)
    return output.float() if torch.is_tensor(output) and output.is_floating_point() else output


class ImageNeuralNet(NeuralNet):
    """skorch's NeuralNet that optimises only trainable parameters and records validation scores.

    On the CPU, module and image batches use the channels-last memory format in every
    precision, which oneDNN's convolutions want (fp32 training steps 1.05-1.4x faster on 2
    cores, ``benchmarks/bench_cpu_training.py``; the outputs are the same up to float
    rounding), unless the module has a convolution that oneDNN mishandles in that format
    (``channels_last_safe``).
    With ``precision="bf16"`` forward passes run under :func:`torch.autocast` in bfloat16
    (outputs are cast back to float32, so losses and scores are computed in fp32).
    """

    def __init__(self, *args, precision="fp32", **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision

    def _channels_last(self):
        return getattr(self, "channels_last_", False)

    def initialize_module(self):
        super().initialize_module()
        self.channels_last_ = torch.device(self.device).type == "cpu" and channels_last_safe(self.module_)
        if self.channels_last_:
            self.module_.to(memory_format=torch.channels_last)
        return self

    def forward_with_precision(self, fn, x):
        """``fn(x)`` under this net's precision, outputs in fp32 (``x`` channels-last on the CPU)."""
        if self._channels_last() and torch.is_tensor(x) and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.precision != "bf16":
            return fn(x)
        device_type = "cuda" if str(self.device).startswith("cuda") else "cpu"
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return _to_float(fn(x))

    def infer(self, x, **fit_params):
        parent = super().infer
        return self.forward_with_precision(lambda inputs: parent(inputs, **fit_params), x)

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        return callbacks[:-1] + [("epoch_scores", EpochScores())] + callbacks[-1:]

    def get_all_learnable_params(self):
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param


class ScheduleCallback(LRScheduler):
    """skorch's ``LRScheduler``, built at the first epoch rather than at ``on_train_begin``.

    A resumed fit loads its history and optimizer in the resume callback's
    ``on_train_begin``, which runs after this one; building the schedule at the start of
    the first epoch sees the epochs already done, restarts from the base learning rates
    (``initial_lr``) and is advanced to where the interrupted fit stopped.
    """

    def on_train_begin(self, net, **kwargs):
        self.lr_scheduler_ = None

    def on_epoch_begin(self, net, **kwargs):
        if self.lr_scheduler_ is None:
            for group in net.optimizer_.param_groups:
                group["lr"] = group.get("initial_lr", group["lr"])
            self.lr_scheduler_ = self.policy_(net.optimizer_, last_epoch=len(net.history) - 2, **self.kwargs)
        super().on_epoch_begin(net, **kwargs)


def recipe_callbacks(*, lr_schedule, warmup_epochs, max_epochs, n_steps, monitor, has_validation, patience,
                     verbose):
    """The learning-rate schedule and, when monitoring ``valid_auc``, early stopping on it.

    Early stopping on ``valid_loss`` comes from :func:`skcovid.utils.training_callbacks`.
    """
    callbacks = []
    if lr_schedule is not None:
        callbacks.append(("lr_scheduler", ScheduleCallback(
            policy=schedule, kind=lr_schedule, total_steps=max_epochs * n_steps, steps_per_epoch=n_steps,
            warmup_steps=round(warmup_epochs * n_steps), step_every="batch")))
    if monitor == "valid_auc" and has_validation and patience is not None:
        callbacks.append(("early_stopping", EarlyStopping(monitor="valid_auc", lower_is_better=False,
                                                          patience=patience, load_best=True,
                                                          sink=print if verbose else _silent)))
    return callbacks


def make_skorch_net(module, module_params, criterion, *, valid, optimizer, lr, weight_decay, max_epochs,
                    batch_size, device, callbacks, num_workers, n_train, generator, verbose,
                    precision="fp32"):
    """Build the :class:`ImageNeuralNet` used by every image estimator.

    skorch builds ``module(**module_params)``. Training batches are shuffled with
    ``generator``; the last training batch is dropped when it would hold a single scan
    (batch norm cannot train on one sample).
    """
    extra = {f"module__{key}": value for key, value in module_params.items()}
    if optimizer == "sgd":
        extra["optimizer__momentum"] = 0.9
    return ImageNeuralNet(
        module,
        criterion=criterion,
        optimizer=OPTIMIZERS[optimizer],
        optimizer__weight_decay=weight_decay,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        device=device,
        train_split=None if valid is None else predefined_split(valid),
        callbacks=callbacks,
        iterator_train__shuffle=True,
        iterator_train__generator=generator,
        iterator_train__drop_last=drop_last(n_train, batch_size),
        iterator_train__num_workers=num_workers,
        iterator_valid__num_workers=num_workers,
        verbose=verbose,
        precision=precision,
        **extra,
    )


def drop_last(n_train, batch_size):
    """Whether to drop the last training batch: only when it would hold a single scan."""
    return bool(n_train > 1 and n_train % batch_size == 1)


def n_batches(n_train, batch_size):
    """Training batches per epoch of :func:`make_skorch_net`'s iterator."""
    return steps_per_epoch(n_train, batch_size, drop_last(n_train, batch_size))
