"""Ctrl-C during training: notice it although skorch swallows it, and never look finished.

skorch ends ``fit`` quietly on :class:`KeyboardInterrupt`, because its callbacks raise one
to stop training early (``EarlyStopping``). A real Ctrl-C arrives as the SIGINT signal,
so it is told apart by watching that signal while a network trains.
"""

from __future__ import annotations

import signal
import threading
import warnings
from contextlib import contextmanager


def _sigint_handler():
    """The callable SIGINT handler that can be wrapped here, or None.

    Only the main thread receives signals and may install handlers; a handler that is not
    a Python callable (``SIG_IGN``, ``SIG_DFL``) never raises :class:`KeyboardInterrupt`,
    so there is nothing to notice.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    handler = signal.getsignal(signal.SIGINT)
    return handler if callable(handler) else None


@contextmanager
def _sigint_wrapped(on_signal):
    """Call ``on_signal(signum, frame, previous)`` instead of the SIGINT handler inside the block."""
    previous = _sigint_handler()
    if previous is None:
        yield
        return
    signal.signal(signal.SIGINT, lambda signum, frame: on_signal(signum, frame, previous))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def defer_interrupts():
    """Hold Ctrl-C back until the block ends, so that files written inside it stay whole.

    A SIGINT that arrives inside the block is delivered (usually as
    :class:`KeyboardInterrupt`) when the block has finished.

    Examples
    --------
    >>> from skcovid.utils import defer_interrupts
    >>> with defer_interrupts():
    ...     pass  # write a checkpoint here
    """
    pending = []
    with _sigint_wrapped(lambda signum, frame, previous: pending.append((previous, signum, frame))):
        yield
    if pending:
        previous, signum, frame = pending[0]
        previous(signum, frame)


def _epoch_reached(estimator):
    net = getattr(estimator, "net_", None)
    history = getattr(net, "history", None)
    if not history:
        return ""
    max_epochs = getattr(net, "max_epochs", None)
    return f" in epoch {len(history)}" + (f" of {max_epochs}" if max_epochs else "")


@contextmanager
def watch_interrupts(estimator, *, hint=""):
    """Make an interrupted training run raise, and flag the estimator as interrupted.

    Wrap the code of ``fit`` that trains a skorch net (and records what it learned). When
    the user presses Ctrl-C inside the block, skorch stops training and returns as if it
    had finished; at the end of the block this raises :class:`KeyboardInterrupt` again,
    after setting ``estimator.fit_interrupted_ = True``. The partly trained network stays
    on the estimator for whoever catches the exception (its ``predict`` warns). A block
    that ends normally sets ``fit_interrupted_ = False``. A :class:`KeyboardInterrupt`
    raised by code (skorch's way of stopping early) is not an interruption.

    Parameters
    ----------
    estimator : object
        The estimator being fitted; gets ``fit_interrupted_``.
    hint : str, default=""
        Appended to the exception's message (e.g. how to resume).

    Raises
    ------
    KeyboardInterrupt
        When SIGINT arrived inside the block.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from skcovid.utils import watch_interrupts
    >>> model = SimpleNamespace()
    >>> with watch_interrupts(model):
    ...     pass  # model.net_.fit(X, y); model.module_ = model.net_.module_
    >>> model.fit_interrupted_
    False
    """
    vars(estimator).pop("fit_interrupted_", None)  # a failed refit must not look finished either
    received = []

    def note(signum, frame, previous):
        received.append(signum)
        previous(signum, frame)

    try:
        with _sigint_wrapped(note):
            yield
    except KeyboardInterrupt:
        estimator.fit_interrupted_ = True
        raise
    if received:
        estimator.fit_interrupted_ = True
        raise KeyboardInterrupt(
            f"{type(estimator).__name__}.fit was interrupted{_epoch_reached(estimator)}; the partly "
            f"trained model is kept and fit_interrupted_ is True.{hint}"
        )
    estimator.fit_interrupted_ = False


def warn_if_interrupted(estimator, action):
    """Warn that ``estimator`` is only partly trained when its last fit was interrupted.

    Parameters
    ----------
    estimator : object
    action : str
        What is being done with it, e.g. ``"predicting with"``.
    """
    if getattr(estimator, "fit_interrupted_", False):
        warnings.warn(
            f"{action} {type(estimator).__name__} whose fit was interrupted (fit_interrupted_ is "
            "True): the model is only partly trained. Fit it again (with the same checkpoint "
            "folder to resume).",
            UserWarning,
            stacklevel=3,
        )
