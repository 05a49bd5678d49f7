"""Losses: focal loss for single-label and multi-label classification."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017) on logits.

    ``loss = -alpha_t * (1 - p_t) ** gamma * log(p_t)``, averaged over samples (and labels).
    At ``gamma=0`` and ``alpha=None`` it equals cross-entropy (or BCE-with-logits when
    ``multilabel``).

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter; 0 gives plain cross-entropy.
    alpha : float, sequence of float or None, default=None
        Class weights: one per class (single-label), or the positive weight in [0, 1]
        (multi-label: positives get ``alpha``, negatives ``1 - alpha``).
    multilabel : bool, default=False
        Logits of shape (n, n_labels) with 0/1 targets of the same shape (sigmoid per label),
        instead of (n, n_classes) logits with integer targets (softmax).
    reduction : {"mean", "sum", "none"}, default="mean"
    """

    def __init__(self, gamma=2.0, alpha=None, multilabel=False, reduction="mean"):
        super().__init__()
        self.gamma = float(gamma)
        self.multilabel = multilabel
        self.reduction = reduction
        if alpha is not None and not multilabel:
            self.register_buffer("alpha", torch.as_tensor(alpha, dtype=torch.float32).reshape(-1))
        else:
            self.alpha = alpha

    def forward(self, logits, target):
        if self.multilabel:
            target = target.to(logits.dtype)
            log_p = F.logsigmoid(logits)
            log_not_p = F.logsigmoid(-logits)
            log_pt = target * log_p + (1 - target) * log_not_p
            loss = -((1 - log_pt.exp()) ** self.gamma) * log_pt
            if self.alpha is not None:
                loss = loss * (target * self.alpha + (1 - target) * (1 - self.alpha))
        else:
            target = target.long()
            log_pt = F.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
            loss = -((1 - log_pt.exp()) ** self.gamma) * log_pt
            if self.alpha is not None:
                loss = loss * self.alpha.to(logits.device)[target]
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss
