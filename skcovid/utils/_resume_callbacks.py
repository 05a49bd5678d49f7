"""skorch callbacks that save a training run after every epoch and resume it exactly.

skorch's ``Checkpoint`` and ``LoadInitState``, subclassed to also keep the random-number
generators and the callbacks' learned state, so that a resumed fit ends where an
uninterrupted one would. :class:`~skcovid.utils.TrainingRun` adds them to a net.
"""

from __future__ import annotations

import os
import random
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Checkpoint, LoadInitState, PrintLog

from ._checkpoint import STATE_FILE, has_state, sibling
from ._interrupt import defer_interrupts

_UNSAVED = object()


def _plain(value):
    """``value`` as tensors, Python numbers, strings and containers of them, or ``_UNSAVED``."""
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if type(value) in (dict, OrderedDict) and all(isinstance(key, str) for key in value):
        converted = {key: _plain(item) for key, item in value.items()}
        items = converted.values()
        converted = type(value)(converted)
    elif type(value) in (list, tuple):
        items = converted = type(value)(_plain(item) for item in value)
    else:
        return _UNSAVED
    return _UNSAVED if any(item is _UNSAVED for item in items) else converted


def _learned_state(callback):
    """A callback's learned attributes (``name_``) that can be saved without pickling objects."""
    state = {key: _plain(value) for key, value in vars(callback).items()
             if key.endswith("_") and not key.startswith("_")}
    return {key: value for key, value in state.items() if value is not _UNSAVED}


def _resumable(callback):
    return not isinstance(callback, (PrintLog, ResumeCheckpoint, LoadInitState))


def _shuffle_generator(net):
    generator = getattr(net, "iterator_train__generator", None)
    return generator if isinstance(generator, torch.Generator) else None


def training_state(net):
    """Everything besides weights and history that the next epoch depends on.

    The states of torch's (CPU and CUDA), numpy's legacy and Python's random generators
    and of the training shuffler's ``torch.Generator``, and the learned attributes of the
    callbacks (early stopping's counter and best weights, the best scores so far, ...).
    Only tensors, numbers and strings: it loads with ``torch.load(weights_only=True)``.
    """
    kind, keys, position, has_gauss, gauss = np.random.get_state()  # noqa: NPY002 - the legacy RNG
    generator = _shuffle_generator(net)
    return {
        "epoch": len(net.history),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(gauss)),
        "random": random.getstate(),
        "shuffle": None if generator is None else generator.get_state(),
        "callbacks": {name: _learned_state(cb) for name, cb in net.callbacks_ if _resumable(cb)},
    }


def restore_training_state(net, state):
    """Undo :func:`training_state`: set the generators and the callbacks' learned attributes."""
    torch.set_rng_state(state["torch"])
    cuda = state["cuda"]
    if cuda is not None and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all(cuda)
    kind, keys, position, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, gauss))  # noqa: NPY002
    version, internal, gauss_next = state["random"]
    random.setstate((version, tuple(internal), gauss_next))
    generator = _shuffle_generator(net)
    if generator is not None and state["shuffle"] is not None:
        generator.set_state(state["shuffle"])
    callbacks = dict(net.callbacks_)
    for name, learned in state["callbacks"].items():
        if name in callbacks:
            vars(callbacks[name]).update(learned)


class ResumeCheckpoint(Checkpoint):
    """skorch's ``Checkpoint`` that saves everything a resumed fit needs, after every epoch.

    Writes the parameters, optimizer and criterion of every module the net registered
    (``<name>.pt``), the history and :func:`training_state` into a new folder next to
    ``dirname`` and then swaps it in, with Ctrl-C held back meanwhile: ``dirname`` always
    holds one complete epoch. Put it after the other callbacks, so that it saves their
    state after the epoch; :class:`ResumeState` loads it back.

    Parameters
    ----------
    dirname : str or path-like
        Folder of this training run.
    """

    def __init__(self, dirname):
        super().__init__(monitor=None, dirname=str(dirname), event_name=None)

    def _register_files(self, net):
        """``f_<name>`` for the modules, criteria and optimizers a subclass of NeuralNet adds."""
        for name in (*net._modules, *net._criteria, *net._optimizers):
            if name not in ("module", "criterion", "optimizer"):
                setattr(self, f"f_{name}", f"{name}.pt")

    def on_train_begin(self, net, **kwargs):
        self._register_files(net)

    def save_model(self, net):
        self._register_files(net)
        target = Path(self.dirname)
        staging, previous = sibling(target, ".saving"), sibling(target, ".old")
        files = {key: str(staging / name) for key, name in self._f_kwargs().items()
                 if isinstance(name, str) and key != "f_pickle"}
        with defer_interrupts():
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            torch.save(training_state(net), staging / STATE_FILE)
            net.save_params(**files)
            shutil.rmtree(previous, ignore_errors=True)
            if target.exists():
                os.replace(target, previous)
            os.replace(staging, target)
            shutil.rmtree(previous, ignore_errors=True)


class ResumeState(LoadInitState):
    """skorch's ``LoadInitState`` that also restores :func:`training_state`.

    When the checkpoint's folder holds a saved epoch, loads the weights, optimizer,
    criterion and history (skorch), then the random generators and the callbacks' learned
    attributes, so that the next epoch runs exactly as it would have without the break.

    Parameters
    ----------
    checkpoint : ResumeCheckpoint
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if self.did_load_:
            return
        folder = Path(self.checkpoint.dirname)
        if not has_state(folder):
            self.did_load_ = True
            return
        self.checkpoint._register_files(net)
        super().on_train_begin(net, X=X, y=y, **kwargs)
        state = torch.load(folder / STATE_FILE, weights_only=True)
        if state["epoch"] != len(net.history):
            raise RuntimeError(
                f"The checkpoint in {folder} is inconsistent: its history has {len(net.history)} epochs "
                f"but its training state {state['epoch']}. Delete {folder} to start afresh."
            )
        restore_training_state(net, state)
        if net.verbose:
            print(f"Resuming after epoch {len(net.history)} of {net.max_epochs}, saved in {folder}.")
