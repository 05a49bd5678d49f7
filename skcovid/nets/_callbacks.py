"""The skorch net the image estimators train with, and its per-epoch validation scores."""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.helper import predefined_split

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


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
    """Record ``valid_acc`` (and ``valid_dice`` for mask outputs) from the validation batches.

    Uses the predictions skorch already computed for the validation loss, so it costs no
    extra forward pass. For multi-label targets the accuracy is the mean per-label accuracy
    at probability 0.5; the Dice is the mean over the validation scans that have a mask.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.correct_, self.total_, self.dice_ = 0.0, 0, []

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
        if mask_logits is not None:
            self.dice_ += batch_dice(mask_logits.detach().cpu(), target[1].cpu(), target[2].cpu())

    def on_epoch_end(self, net, **kwargs):
        if self.total_:
            net.history.record("valid_acc", self.correct_ / self.total_)
        if self.dice_:
            net.history.record("valid_dice", float(np.mean(self.dice_)))


class ImageNeuralNet(NeuralNet):
    """skorch's NeuralNet that optimises only trainable parameters and records validation scores."""

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        return callbacks[:-1] + [("epoch_scores", EpochScores())] + callbacks[-1:]

    def get_all_learnable_params(self):
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param


def make_skorch_net(module, module_params, criterion, *, valid, optimizer, lr, weight_decay, max_epochs,
                    batch_size, device, callbacks, num_workers, n_train, generator, verbose):
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
        iterator_train__drop_last=bool(n_train > 1 and n_train % batch_size == 1),
        iterator_train__num_workers=num_workers,
        iterator_valid__num_workers=num_workers,
        verbose=verbose,
        **extra,
    )
