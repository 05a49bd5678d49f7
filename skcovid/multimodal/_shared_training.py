"""The training loop of :class:`SharedFeatureExtractor`: diagnosis, with or without a modality adversary.

Two players: the *encoder* (with its diagnosis classifier) and the *discriminator*, which
reads the encoder's features and predicts each row's modality.

- ``mode=None``: the encoder minimises the diagnosis loss only. When modalities are known,
  the discriminator is still trained on the *detached* features as an observer: its loss
  shows how much modality the features carry, without influencing them.
- ``"gradient_reversal"`` (Ganin & Lempitsky, 2015): one backward pass of
  ``CE(diagnosis) + CE(discriminator(GRL(features)), modality)`` updates both players:
  the discriminator descends its cross-entropy while the reversed gradient makes the
  encoder *ascend* it (weighted by ``weight``): the zero-sum game
  ``min_enc max_disc CE_y - weight * CE_m``. Extra discriminator steps follow.
- ``"minimax"``: alternating steps. (1) The discriminator minimises its cross-entropy on
  the true modality, on detached features (``discriminator_steps`` times). (2) The encoder minimises
  ``CE(diagnosis) + weight * CE(discriminator(features), uniform)``: it drives the (just
  updated) discriminator's output towards 1/K for every row, the "confusion" form of the
  game (Tzeng et al., 2015), which is bounded, unlike maximising the discriminator's loss
  (that can be reached by *flipping* modalities, which still leaks them).

Early stopping watches the validation diagnosis loss and restores the best epoch.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import pandas as pd

HISTORY_COLUMNS = [
    "epoch",
    "train_diagnosis_loss",
    "train_discriminator_loss",
    "train_encoder_loss",
    "valid_diagnosis_loss",
    "valid_discriminator_loss",
    "valid_discriminator_accuracy",
    "dur",
]


def _optimizers(module, discriminator, *, lr, discriminator_lr, weight_decay):
    import torch

    main = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    disc = (
        None if discriminator is None else torch.optim.Adam(discriminator.parameters(), lr=discriminator_lr)
    )
    return main, disc


def _discriminator_steps(discriminator, disc_opt, features, m, steps):
    """``steps`` updates of the discriminator on detached features; returns the last loss."""
    import torch.nn.functional as F

    loss = None
    for _ in range(steps):
        loss = F.cross_entropy(discriminator(features.detach()), m)
        disc_opt.zero_grad()
        loss.backward()
        disc_opt.step()
    return loss


def _step(module, discriminator, optimizers, batch, *, mode, weight, discriminator_steps=1):
    """One training step; returns (diagnosis loss, discriminator loss, encoder objective)."""
    import torch.nn.functional as F

    from ..modules._adversarial import gradient_reversal

    main, disc_opt = optimizers
    x, y, m = batch
    features = module.features(x)
    loss_y = F.cross_entropy(module.classifier(features), y)
    if discriminator is None:
        main.zero_grad()
        loss_y.backward()
        main.step()
        return loss_y.item(), math.nan, loss_y.item()
    if mode == "gradient_reversal":
        # one backward pass: the discriminator descends its loss, the encoder ascends it
        loss_m = F.cross_entropy(discriminator(gradient_reversal(features, weight)), m)
        main.zero_grad()
        disc_opt.zero_grad()
        (loss_y + loss_m).backward()
        main.step()
        disc_opt.step()
        if discriminator_steps > 1:
            _discriminator_steps(discriminator, disc_opt, features, m, discriminator_steps - 1)
        return loss_y.item(), loss_m.item(), loss_y.item() - weight * loss_m.item()
    # discriminator steps on detached features (an observer for mode None, a player for minimax)
    loss_m = _discriminator_steps(discriminator, disc_opt, features, m, discriminator_steps)
    if mode is None:
        objective = loss_y
    else:  # encoder step against the updated discriminator: push its output to uniform
        log_p = F.log_softmax(discriminator(features), dim=1)
        objective = loss_y + weight * (-log_p.mean(dim=1)).mean()
    main.zero_grad()
    objective.backward()
    main.step()
    return loss_y.item(), loss_m.item(), objective.item()


def _evaluate(module, discriminator, X, y, m):
    """Validation diagnosis loss, discriminator loss and accuracy (evaluation mode)."""
    import torch
    import torch.nn.functional as F

    module.eval()
    if discriminator is not None:
        discriminator.eval()
    with torch.no_grad():
        features = module.features(X)
        loss_y = F.cross_entropy(module.classifier(features), y).item()
        if discriminator is None:
            return loss_y, math.nan, math.nan
        logits = discriminator(features)
        loss_m = F.cross_entropy(logits, m).item()
        accuracy = (logits.argmax(dim=1) == m).float().mean().item()
    return loss_y, loss_m, accuracy


def _batches(n, batch_size, generator):
    import torch

    order = torch.randperm(n, generator=generator)
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:  # a batch of one row breaks batch normalisation
        starts = starts[:-1]
    return [order[s : s + batch_size] for s in starts]


def train_shared(
    module,
    discriminator,
    data,
    train_idx,
    valid_idx,
    *,
    mode,
    weight,
    lr,
    discriminator_lr,
    weight_decay,
    max_epochs,
    batch_size,
    patience,
    device,
    generator,
    discriminator_steps=1,
    verbose=0,
):
    """Train ``module`` (and ``discriminator``) in place; return the history as a DataFrame.

    Parameters
    ----------
    module : MLPClassifierModule
    discriminator : ModalityDiscriminator or None
        None when modalities are unknown (then ``mode`` must be None).
    data : tuple of ndarray
        ``(X float32, y int64, modality codes int64 or None)``.
    train_idx, valid_idx : ndarray of int, or None for ``valid_idx``
    mode : {None, "gradient_reversal", "minimax"}
    """
    import torch

    X, y, m = (torch.as_tensor(np.asarray(a), device=device) if a is not None else None for a in data)
    if m is None:
        m = torch.zeros_like(y)
    optimizers = _optimizers(
        module, discriminator, lr=lr, discriminator_lr=discriminator_lr, weight_decay=weight_decay
    )
    train_idx = torch.as_tensor(train_idx, device=device)
    valid = None if valid_idx is None else [t[torch.as_tensor(valid_idx, device=device)] for t in (X, y, m)]
    rows, best_loss, best_state, bad_epochs, best_epoch = [], math.inf, None, 0, None
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        module.train()
        if discriminator is not None:
            discriminator.train()
        sums = np.zeros(3)
        batches = _batches(len(train_idx), batch_size, generator)
        for batch in batches:
            idx = train_idx[batch.to(device)]
            sums += _step(
                module,
                discriminator,
                optimizers,
                (X[idx], y[idx], m[idx]),
                mode=mode,
                weight=weight,
                discriminator_steps=discriminator_steps,
            )
        row = dict(zip(HISTORY_COLUMNS[1:4], sums / max(len(batches), 1)), epoch=epoch)
        valid_stats = (math.nan,) * 3 if valid is None else _evaluate(module, discriminator, *valid)
        row.update(zip(HISTORY_COLUMNS[4:7], valid_stats), dur=time.perf_counter() - start)
        rows.append(row)
        if verbose:
            print(", ".join(f"{k}={v:.4g}" for k, v in row.items()))
        if valid is None or patience is None:
            continue
        if valid_stats[0] < best_loss:
            best_loss, bad_epochs, best_epoch = valid_stats[0], 0, epoch
            best_state = copy.deepcopy(
                (module.state_dict(), None if discriminator is None else discriminator.state_dict())
            )
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    if best_state is not None:
        module.load_state_dict(best_state[0])
        if discriminator is not None:
            discriminator.load_state_dict(best_state[1])
    module.eval()
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    # the epoch whose weights are kept: the restored best one, else the last one
    history["best"] = history["epoch"] == (best_epoch if best_state is not None else len(history))
    return history


def probe_modality(features, modality, groups, *, random_state):
    """Held-out modality accuracy of a fresh probe trained on frozen features.

    Two-fold cross-fitting on the given (held-out) rows, split by patient: a fresh MLP
    probe is trained on one half's features and scored on the other half, then the halves
    swap. Returns ``(accuracy, chance)`` where chance is the majority-modality share, or
    ``(nan, nan)`` when the rows are too few (fewer than 4 per modality).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    values, counts = np.unique(modality, return_counts=True)
    if len(values) < 2 or counts.min() < 4:
        return math.nan, math.nan
    groups = np.arange(len(modality)) if groups is None else np.asarray(groups)
    try:
        folds = list(
            StratifiedGroupKFold(2, shuffle=True, random_state=random_state).split(features, modality, groups)
        )
    except ValueError:
        folds = list(GroupKFold(2).split(features, modality, groups))
    correct = np.zeros(len(modality), dtype=bool)
    for train, test in folds:
        if len(np.unique(modality[train])) < 2:
            return math.nan, math.nan
        probe = make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=500, random_state=random_state),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            probe.fit(features[train], modality[train])
        correct[test] = probe.predict(features[test]) == modality[test]
    return float(correct.mean()), float(counts.max() / counts.sum())
