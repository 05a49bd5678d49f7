"""Resumable, interruptible training runs of skorch nets inside an estimator's ``fit``.

:class:`TrainingRun` combines :func:`watch_interrupts` with skorch's ``Checkpoint`` and
``LoadInitState`` (subclassed in ``_resume_callbacks`` to also keep the random generators
and the callbacks' state): every epoch is saved, and a fit interrupted at epoch k resumes
at epoch k + 1 and runs only the remaining epochs.
"""

from __future__ import annotations

import os
import shutil
from numbers import Integral
from pathlib import Path

import joblib

from ._interrupt import watch_interrupts

STATE_FILE = "training_state.pt"
HISTORY_FILE = "history.json"
# parameters that do not change what is learned, or cannot be compared across runs
_NOT_FINGERPRINTED = {"checkpoint", "verbose", "device", "num_workers", "callbacks", "cache"}


def sibling(folder, suffix):
    """``folder`` with ``suffix`` appended to its name (the staging and previous copies)."""
    return folder.with_name(folder.name + suffix)


def has_state(folder):
    """Whether ``folder`` holds a saved epoch."""
    return (folder / STATE_FILE).is_file() and (folder / HISTORY_FILE).is_file()


def _digest(value):
    try:
        return joblib.hash(value)
    except Exception:  # noqa: BLE001 - unpicklable (a lambda): its repr is the best we have
        return repr(value)


def run_folder(estimator, checkpoint, data):
    """The folder, inside ``checkpoint``, of this estimator's training run on ``data``.

    Named after the class and a digest of the parameters that affect training and of the
    data, so that fits of other settings or folds (a grid search) never share a folder.
    A run that was killed while swapping in a new epoch is recovered here.
    """
    if not isinstance(estimator.random_state, Integral) or isinstance(estimator.random_state, bool):
        raise ValueError(
            f"checkpoint={str(checkpoint)!r} needs an int random_state: a resumed fit must repeat the "
            f"interrupted fit's validation split, shuffling and augmentation. Got "
            f"random_state={estimator.random_state!r}; pass e.g. random_state=0."
        )
    params = {key: _digest(value) for key, value in sorted(estimator.get_params(deep=False).items())
              if key not in _NOT_FINGERPRINTED}
    name = type(estimator).__name__
    folder = Path(checkpoint) / f"{name}-{_digest((name, params, [_digest(d) for d in data]))[:16]}"
    previous = sibling(folder, ".old")
    if not has_state(folder) and has_state(previous):
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(previous, folder)
    return folder


class TrainingRun:
    """One training run of a skorch net inside an estimator's ``fit``: interrupts and resuming.

    Use it as a context manager around the code that trains the net and records what it
    learned; it raises :class:`KeyboardInterrupt` at its end when the user pressed Ctrl-C
    (setting ``fit_interrupted_``; see :func:`watch_interrupts`). With a ``checkpoint``
    folder, add :meth:`callbacks` (last) to the net and pass :meth:`fit_params` to its
    ``fit``: every epoch is saved, a fit that was interrupted resumes at the next epoch
    and runs only the remaining ones, and a fit that completes deletes its saved state.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted (its parameters name the run's folder; it must have an
        int ``random_state`` when ``checkpoint`` is set).
    checkpoint : None, str or path-like, default=None
        Folder holding the resumable state of training runs.
    data : tuple, default=()
        The training data (e.g. the scan table and the targets), part of the run's identity.

    Attributes
    ----------
    folder : Path or None
        This run's own folder inside ``checkpoint``.
    resumed_epochs : int
        Epochs already done by the interrupted run being resumed (0 for a fresh run).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from skcovid.utils import TrainingRun
    >>> model = SimpleNamespace()
    >>> run = TrainingRun(model)
    >>> with run:  # model.net_ = NeuralNet(..., callbacks=[...] + run.callbacks())
    ...     pass   # model.net_.fit(X, y, **run.fit_params(max_epochs))
    >>> model.fit_interrupted_, run.callbacks()
    (False, [])
    """

    def __init__(self, estimator, *, checkpoint=None, data=()):
        self.estimator = estimator
        self.folder = None if checkpoint is None else run_folder(estimator, checkpoint, data)
        self.resumed_epochs = 0
        if self.folder is not None and has_state(self.folder):
            from skorch.history import History

            self.resumed_epochs = len(History.from_file(str(self.folder / HISTORY_FILE)))

    def callbacks(self):
        """skorch callbacks that save every epoch and resume (after all other callbacks)."""
        if self.folder is None:
            return []
        from ._resume_callbacks import ResumeCheckpoint, ResumeState

        checkpoint = ResumeCheckpoint(self.folder)
        return [("resume_checkpoint", checkpoint), ("resume_state", ResumeState(checkpoint))]

    def fit_params(self, max_epochs):
        """Keyword arguments of the net's ``fit``: the number of epochs still to run."""
        return {"epochs": max(max_epochs - self.resumed_epochs, 0)} if self.resumed_epochs else {}

    def __enter__(self):
        hint = "" if self.folder is None else f" Fit again to resume from the state saved in {self.folder}."
        self._watch = watch_interrupts(self.estimator, hint=hint)
        self._watch.__enter__()
        return self

    def __exit__(self, *exc_info):
        self._watch.__exit__(*exc_info)  # raises KeyboardInterrupt when interrupted
        if exc_info[0] is None and self.folder is not None:
            for folder in (self.folder, sibling(self.folder, ".old"), sibling(self.folder, ".saving")):
                shutil.rmtree(folder, ignore_errors=True)
        return False
