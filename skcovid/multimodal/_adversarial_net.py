"""The two-player training of :class:`SharedFeatureExtractor`, inside skorch.

:class:`AdversarialNet` is a skorch ``NeuralNet`` whose module is the encoder with its
diagnosis classifier and which registers a second module, the modality *discriminator*,
with its own optimizer (skorch's documented pattern for several modules: set them in
``initialize_module`` / ``initialize_optimizer``, override ``train_step``). The target
``y`` is an ``(n, 2)`` integer array: diagnosis code and modality code of each row.

- ``adversarial=None``: the encoder minimises the diagnosis loss; the discriminator is
  trained on *detached* features as an observer, so the history shows how much modality
  the features carry.
- ``"gradient_reversal"`` (Ganin & Lempitsky, 2015): one backward pass of
  ``CE(diagnosis) + CE(discriminator(GRL_λ(features)), modality)`` updates both players;
  the reversed gradient makes the encoder *ascend* the discriminator's loss.
- ``"minimax"``: the same game in alternating steps. The discriminator minimises its
  cross-entropy on detached features; then the encoder minimises ``CE(diagnosis) - λ ·
  CE(discriminator(features), modality)`` against the updated discriminator. (The bounded
  "confusion" form, pushing the discriminator's output towards uniform as Tzeng et al.,
  2015, left more modality in the features on the real scans: probe balanced accuracy
  0.655 against 0.602.)

The weight ``λ`` follows Ganin & Lempitsky's ramp (:class:`AdversarialSchedule`), and the
epoch kept is chosen by :class:`InvariantCheckpoint`: among epochs whose validation
discriminator is near chance, the one with the best validation diagnosis loss.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback

from ..modules._adversarial import gradient_reversal


def ganin_weight(progress, weight, gamma=10.0):
    """Ganin & Lempitsky's adversarial weight ``weight · (2 / (1 + exp(-gamma · p)) - 1)``.

    Parameters
    ----------
    progress : float
        Training progress ``p`` in [0, 1].
    weight : float
        The final weight λ.
    gamma : float, default=10.0

    Returns
    -------
    float

    Examples
    --------
    >>> from skcovid.multimodal._adversarial_net import ganin_weight
    >>> round(ganin_weight(0.0, 1.0), 3), round(ganin_weight(0.5, 1.0), 3), round(ganin_weight(1.0, 1.0), 3)
    (0.0, 0.987, 1.0)
    """
    return float(weight) * (2.0 / (1.0 + math.exp(-gamma * float(progress))) - 1.0)


def _balanced_accuracy(predicted, truth, n_classes):
    recalls = [
        (predicted[truth == k] == k).float().mean().item() for k in range(n_classes) if (truth == k).any()
    ]
    return float(np.mean(recalls)) if recalls else math.nan


class AdversarialNet(NeuralNet):
    """skorch ``NeuralNet`` training an encoder-classifier against a modality discriminator.

    Parameters
    ----------
    module : torch module class or instance
        The encoder with its diagnosis classifier; it must have ``features(x)`` and
        ``classifier(features)`` (e.g. :class:`~skcovid.modules._mlp.MLPClassifierModule`).
    discriminator : torch module class or instance
        Reads ``features`` and returns modality logits; its parameters are given with the
        ``discriminator__`` prefix.
    adversarial : {None, "gradient_reversal", "minimax"}, default="gradient_reversal"
    adversarial_weight : float, default=1.0
        Final weight λ of the adversarial term (see :class:`AdversarialSchedule`).
    discriminator_lr : float or None, default=None
        Learning rate of the discriminator's optimizer (None: the net's ``lr``).
    discriminator_steps : int, default=1
        Discriminator updates per batch.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.

    Attributes
    ----------
    discriminator_ : torch.nn.Module
    discriminator_optimizer_ : torch.optim.Optimizer
    adversarial_weight_ : float
        The current λ (set by :class:`AdversarialSchedule`; the final weight without it).
    """

    prefixes_ = NeuralNet.prefixes_ + ["discriminator"]

    def __init__(
        self,
        module,
        *args,
        discriminator,
        adversarial="gradient_reversal",
        adversarial_weight=1.0,
        discriminator_lr=None,
        discriminator_steps=1,
        refresh_discriminator=0,
        **kwargs,
    ):
        self.discriminator = discriminator
        self.adversarial = adversarial
        self.adversarial_weight = adversarial_weight
        self.discriminator_lr = discriminator_lr
        self.discriminator_steps = discriminator_steps
        self.refresh_discriminator = refresh_discriminator
        super().__init__(module, *args, **kwargs)

    def initialize_module(self):
        super().initialize_module()
        params = self.get_params_for("discriminator")
        self.discriminator_ = self.initialized_instance(self.discriminator, params)
        self.adversarial_weight_ = float(self.adversarial_weight)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        lr = self.lr if self.discriminator_lr is None else self.discriminator_lr
        self.discriminator_optimizer_ = torch.optim.Adam(self.discriminator_.parameters(), lr=lr)
        return self

    # -- losses -------------------------------------------------------------------------
    def infer(self, x, **fit_params):
        x = x.to(self.device) if isinstance(x, torch.Tensor) else x
        return self.module_(x)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        diagnosis = torch.as_tensor(y_true, device=y_pred.device)[:, 0]
        return self.criterion_(y_pred, diagnosis)

    def _discriminator_updates(self, features, modality):
        """``discriminator_steps`` updates: this batch's features, then fresh random batches."""
        loss = self._discriminator_updates_n(features, modality, 1)
        pool = getattr(self, "_discriminator_pool", None)
        for _ in range(self.discriminator_steps - 1):
            if pool is None:
                self._discriminator_updates_n(features, modality, 1)
                continue
            rows = torch.randint(len(pool[0]), (len(features),), generator=pool[2]).to(pool[0].device)
            with torch.no_grad():
                others = self.module_.features(pool[0][rows])
            self._discriminator_updates_n(others, pool[1][rows], 1)
        return loss

    def train_step(self, batch, **fit_params):
        """One update of both players; records ``train_discriminator_loss`` per batch."""
        self._set_training(True)
        Xi, yi = batch
        x = Xi.to(self.device)
        yi = torch.as_tensor(yi, device=self.device)
        diagnosis, modality = yi[:, 0], yi[:, 1]
        features = self.module_.features(x)
        y_pred = self.module_.classifier(features)
        loss_y = self.criterion_(y_pred, diagnosis)
        weight = self.adversarial_weight_
        if self.adversarial == "gradient_reversal":
            loss_m = F.cross_entropy(self.discriminator_(gradient_reversal(features, weight)), modality)
            self.optimizer_.zero_grad()
            self.discriminator_optimizer_.zero_grad()
            (loss_y + loss_m).backward()
            self.optimizer_.step()
            self.discriminator_optimizer_.step()
            if self.discriminator_steps > 1:
                self._discriminator_updates(features, modality)
        else:
            loss_m = self._discriminator_updates(features, modality)
            objective = loss_y
            if self.adversarial == "minimax":  # then the encoder maximises the updated one's loss
                objective = loss_y - weight * F.cross_entropy(self.discriminator_(features), modality)
            self.optimizer_.zero_grad()
            objective.backward()
            self.optimizer_.step()
        self.history.record_batch("train_discriminator_loss", loss_m.item())
        return {"loss": loss_y.detach(), "y_pred": y_pred.detach()}

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        """With ``refresh_discriminator=k``: a new discriminator, trained ``k`` full-batch steps."""
        super().on_epoch_begin(net, dataset_train=dataset_train, **kwargs)
        if dataset_train is not None and self.discriminator_steps > 1:
            pool_x = torch.as_tensor(dataset_train.X, device=self.device)
            pool_m = torch.as_tensor(dataset_train.y[:, 1], device=self.device)
            generator = getattr(self, "_discriminator_pool", (None, None, None))[2]
            if generator is None:
                generator = torch.Generator().manual_seed(int(torch.randint(2**31 - 1, (1,)).item()))
            self._discriminator_pool = (pool_x, pool_m, generator)
        if not self.refresh_discriminator or self.adversarial is None or dataset_train is None:
            return
        for layer in self.discriminator_.modules():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
        self.discriminator_optimizer_.state.clear()
        X, y = dataset_train.X, dataset_train.y
        self._set_training(False)
        with torch.no_grad():
            features = self.module_.features(torch.as_tensor(X, device=self.device))
        modality = torch.as_tensor(y[:, 1], device=self.device)
        self.discriminator_.train()
        self._discriminator_updates_n(features, modality, self.refresh_discriminator)

    def _discriminator_updates_n(self, features, modality, steps):
        loss = None
        for _ in range(steps):
            loss = F.cross_entropy(self.discriminator_(features.detach()), modality)
            self.discriminator_optimizer_.zero_grad()
            loss.backward()
            self.discriminator_optimizer_.step()
        return loss

    def on_train_end(self, net, **kwargs):
        """Drop the training rows kept for the discriminator: a saved model must not hold them."""
        super().on_train_end(net, **kwargs)
        self.__dict__.pop("_discriminator_pool", None)

    # -- validation of the discriminator -----------------------------------------------
    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        """Score the discriminator on the whole validation set (loss, balanced accuracy)."""
        super().on_epoch_end(net, dataset_valid=dataset_valid, **kwargs)
        self.history.record("adversarial_weight", self.adversarial_weight_)
        if dataset_valid is None:
            return
        X, y = dataset_valid.X, dataset_valid.y
        self._set_training(False)
        with torch.no_grad():
            x = torch.as_tensor(X, device=self.device)
            modality = torch.as_tensor(y[:, 1], device=self.device)
            logits = self.discriminator_(self.module_.features(x))
            n_modalities = logits.shape[1]
            self.history.record("valid_discriminator_loss", F.cross_entropy(logits, modality).item())
            self.history.record(
                "valid_discriminator_balanced_accuracy",
                _balanced_accuracy(logits.argmax(dim=1), modality, n_modalities),
            )
            features = self.module_.features(x)
        if self.adversarial is None:  # no invariance to judge: the selection reads the diagnosis loss
            return
        if len(self.history) <= self.max_epochs // 2:  # the ramp is still rising: nothing to select
            return
        self.history.record(
            "valid_probe_balanced_accuracy",
            fresh_discriminator_accuracy(features, modality, n_modalities, seed=len(self.history)),
        )


def fresh_discriminator_accuracy(features, modality, n_modalities, *, steps=60, seed=0):
    """Balanced accuracy of *fresh* discriminators on frozen features, by two-fold cross-fitting.

    The adversarially trained discriminator can be fooled while the modality stays
    readable (Elazar & Goldberg, 2018); a discriminator trained from scratch on a snapshot
    of the features is the honest judge. The rows are split in two halves (stratified by
    modality); a new MLP (standardised input, 64 hidden units, Adam, full batch, ``steps``
    updates) learns the modality on one half and is scored on the other, then the halves
    swap. Returns the mean balanced accuracy (NaN with fewer than 4 rows of a modality).
    """
    counts = torch.bincount(modality, minlength=n_modalities)
    if (counts < 4).any():
        return math.nan
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(len(modality), generator=generator)
    on_cpu = modality.cpu()  # the halves are indexed on the CPU, whatever the features' device
    by_modality = torch.cat([order[on_cpu[order] == k] for k in range(n_modalities)])
    by_modality = by_modality.to(features.device)
    halves = (by_modality[0::2], by_modality[1::2])
    scores = []
    with torch.enable_grad():
        for train, test in (halves, halves[::-1]):
            x = features[train]
            mean, std = x.mean(dim=0), x.std(dim=0).clamp_min(1e-6)
            x = (x - mean) / std
            torch.manual_seed(int(seed))
            probe = torch.nn.Sequential(
                torch.nn.Linear(x.shape[1], 64), torch.nn.LeakyReLU(), torch.nn.Linear(64, n_modalities)
            ).to(features.device)
            optimizer = torch.optim.Adam(probe.parameters(), lr=3e-2, weight_decay=1e-3, foreach=True)
            for _ in range(steps):
                optimizer.zero_grad()
                F.cross_entropy(probe(x), modality[train]).backward()
                optimizer.step()
            with torch.no_grad():
                predicted = probe((features[test] - mean) / std).argmax(dim=1)
            scores.append(_balanced_accuracy(predicted, modality[test], n_modalities))
    return float(np.mean(scores))


class AdversarialSchedule(Callback):
    """Ramp the adversarial weight (and optionally anneal the learning rate) as Ganin & Lempitsky.

    Before each training batch, with progress ``p`` in [0, 1] over ``max_epochs``:
    ``λ_p = λ · (2 / (1 + exp(-gamma · p)) - 1)`` and, with ``anneal_lr``,
    ``lr_p = lr / (1 + 10 p) ** 0.75`` for both players.

    Parameters
    ----------
    gamma : float, default=10.0
    anneal_lr : bool, default=False
    """

    def __init__(self, gamma=10.0, anneal_lr=False):
        self.gamma = gamma
        self.anneal_lr = anneal_lr

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.batches_per_epoch_ = None
        self.seen_ = 0

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.batches_per_epoch_ is None:
            n = len(dataset_train)
            self.batches_per_epoch_ = max(1, n // net.batch_size + (n % net.batch_size > 1))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        progress = min(1.0, self.seen_ / (self.batches_per_epoch_ * net.max_epochs))
        net.adversarial_weight_ = ganin_weight(progress, net.adversarial_weight, self.gamma)
        if self.anneal_lr:
            factor = (1.0 + 10.0 * progress) ** -0.75
            base_d = net.lr if net.discriminator_lr is None else net.discriminator_lr
            for optimizer, base in ((net.optimizer_, net.lr), (net.discriminator_optimizer_, base_d)):
                for group in optimizer.param_groups:
                    group["lr"] = base * factor
        self.seen_ += 1


class InvariantCheckpoint(Callback):
    """Keep the best epoch among those whose validation discriminator is near chance; stop early.

    The judge is a *fresh* discriminator trained on a snapshot of the validation rows'
    features (``valid_probe_balanced_accuracy``, see :func:`fresh_discriminator_accuracy`):
    the adversarially trained one can be fooled while the modality stays readable. An
    epoch *qualifies* when that balanced accuracy is at most ``1 / n_modalities +
    tolerance`` (for two modalities, within ``tolerance`` of 0.5 on either side: a judge
    that is reliably *wrong* also reads the modality, only flipped). The kept epoch is the
    qualifying one with the lowest validation diagnosis loss; if none qualifies, the most
    invariant one (ties: lowest diagnosis loss). Training stops after ``patience`` epochs
    without a new kept epoch, counted from the first qualifying one. The history gets
    ``invariant`` (did the epoch qualify) and, at the end, ``selected``.

    Parameters
    ----------
    tolerance : float, default=0.1
        ``math.inf`` makes every epoch qualify (selection by diagnosis loss alone).
    patience : int or None, default=10
    n_modalities : int, default=2
    """

    def __init__(self, tolerance=0.1, patience=10, n_modalities=2):
        self.tolerance = tolerance
        self.patience = patience
        self.n_modalities = n_modalities

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.best_ = self.fallback_ = None  # (key, epoch, state)
        self.waiting_ = None

    def _state(self, net):
        return copy.deepcopy((net.module_.state_dict(), net.discriminator_.state_dict()))

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        loss = row.get("valid_loss", math.nan)
        accuracy = row.get("valid_probe_balanced_accuracy", math.nan)
        if math.isnan(loss):
            return
        epoch = row["epoch"]
        chance = 1.0 / self.n_modalities
        if math.isinf(self.tolerance):  # no invariance asked for: selection by diagnosis loss
            accuracy = chance
        if math.isnan(accuracy):  # not judged (first half of the ramp): not a candidate
            net.history.record("invariant", False)
            return
        excess = abs(accuracy - chance) if self.n_modalities == 2 else accuracy - chance
        invariant = excess <= self.tolerance
        net.history.record("invariant", bool(invariant))
        if invariant:
            if self.best_ is None or loss < self.best_[0]:
                self.best_ = (loss, epoch, self._state(net))
                self.waiting_ = 0
            else:
                self.waiting_ += 1
        elif self.best_ is None and (self.fallback_ is None or (excess, loss) < self.fallback_[0]):
            self.fallback_ = ((excess, loss), epoch, self._state(net))
        if self.waiting_ is not None and self.patience is not None and self.waiting_ >= self.patience:
            raise KeyboardInterrupt  # skorch's way of ending training early

    def on_train_end(self, net, **kwargs):
        kept = self.best_ or self.fallback_
        if kept is None:
            return
        _, epoch, (module_state, discriminator_state) = kept
        net.module_.load_state_dict(module_state)
        net.discriminator_.load_state_dict(discriminator_state)
        for row in net.history:
            row["selected"] = row["epoch"] == epoch
        self.selected_epoch_ = epoch
