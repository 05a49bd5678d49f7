"""Training curves (loss or any other per-epoch score) from a skorch ``History``."""

import numpy as np

from ._common import legend_below, new_axes


class HistoryDisplay:
    """Per-epoch training curves, e.g. the training and validation loss.

    Build it with :func:`plot_history` (or :meth:`from_estimator` for an estimator with a
    ``history_``); the y axis is labelled with ``ylabel`` (by default the quantity the
    keys share, such as "loss"), the x axis with "epoch", and the legend sits below the
    axes.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers.
    curves : dict
        Maps each key (e.g. ``"valid_loss"``) to its per-epoch values; NaN where an epoch
        did not record it.
    ylabel : str, default=None
        Label of the y axis; derived from the keys by default.

    Attributes
    ----------
    lines_ : dict
        The matplotlib ``Line2D`` of each key.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skcovid.plotting import plot_history
    >>> history = [{"epoch": 1, "train_loss": 0.70, "valid_loss": 0.69},
    ...            {"epoch": 2, "train_loss": 0.52, "valid_loss": 0.58}]
    >>> display = plot_history(history)
    >>> display.ax_.get_xlabel(), display.ax_.get_ylabel()
    ('epoch', 'loss')
    >>> [text.get_text() for text in display.ax_.get_legend().get_texts()]
    ['train loss', 'valid loss']
    """

    def __init__(self, *, epochs, curves, ylabel=None):
        self.epochs = epochs
        self.curves = curves
        self.ylabel = ylabel

    def plot(self, ax=None, **kwargs):
        """Draw one line per key.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default.
        **kwargs
            Passed to ``ax.plot`` for every line.

        Returns
        -------
        self : HistoryDisplay
        """
        ax = new_axes(ax)
        kwargs = {"marker": "o", "markersize": 3, **kwargs}
        self.lines_ = {}
        for key, values in self.curves.items():
            (self.lines_[key],) = ax.plot(self.epochs, values, label=key.replace("_", " "),
                                          **kwargs)
        ax.set(xlabel="epoch", ylabel=self.ylabel or _common_quantity(list(self.curves)))
        legend_below(ax, ncols=min(len(self.curves), 3))
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_history(cls, history, keys=None, *, ylabel=None, ax=None, **kwargs):
        """Plot per-epoch values of a skorch ``History`` (or a list of epoch dicts).

        Parameters
        ----------
        history : skorch History or list of dict
            One dict per epoch, with an ``"epoch"`` entry (the row number otherwise).
        keys : list of str, default=None
            Entries to plot; by default every entry whose name ends in ``"loss"``.
        ylabel : str, default=None
            Label of the y axis; by default the part the keys share after their
            prefixes (``"loss"`` for ``train_loss`` and ``valid_loss``).
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs
            Passed to ``ax.plot``.

        Returns
        -------
        display : HistoryDisplay
        """
        rows = list(history)
        if not rows:
            raise ValueError("history is empty; fit the estimator for at least one epoch first.")
        recorded = list(dict.fromkeys(key for row in rows for key in row))
        if keys is None:
            keys = [key for key in recorded if key.endswith("loss")]
        missing = [key for key in keys if key not in recorded]
        if missing or not keys:
            raise ValueError(
                f"history has no entry {missing[0] if missing else 'ending in loss'!r}; it "
                f"records {recorded}. Pass keys= with some of those names."
            )
        epochs = np.array([row.get("epoch", i + 1) for i, row in enumerate(rows)])
        curves = {key: np.array([row.get(key, np.nan) for row in rows], dtype=float)
                  for key in keys}
        return cls(epochs=epochs, curves=curves, ylabel=ylabel).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, keys=None, **kwargs):
        """Plot the ``history_`` of a fitted skcovid network (or ``history`` of a skorch net).

        Parameters
        ----------
        estimator : fitted estimator
            Has a ``history_`` (skcovid estimators) or ``history`` (skorch nets).
        keys : list of str, default=None
            Entries to plot; every ``*loss`` entry by default.
        **kwargs
            Passed to :meth:`from_history`.

        Returns
        -------
        display : HistoryDisplay
        """
        history = getattr(estimator, "history_", None)
        if history is None:
            history = getattr(estimator, "history", None)
        if history is None:
            raise ValueError(f"{type(estimator).__name__} has no history_; fit it first, or "
                             "pass the history to plot_history.")
        return cls.from_history(history, keys, **kwargs)


def _common_quantity(keys):
    """``"loss"`` for ``["train_loss", "valid_loss"]``; the keys joined when nothing is shared."""
    words = [key.split("_") for key in keys]
    shared = []
    for parts in zip(*(reversed(w) for w in words)):
        if len(set(parts)) > 1:
            break
        shared.insert(0, parts[0])
    return " ".join(shared) if shared else ", ".join(k.replace("_", " ") for k in keys)


def plot_history(history, keys=None, **kwargs):
    """Plot training curves (by default every loss) against the epoch.

    Shorthand for :meth:`HistoryDisplay.from_history`.

    Parameters
    ----------
    history : skorch History or list of dict
        One dict per epoch, e.g. ``estimator.history_``.
    keys : list of str, default=None
        Entries to plot; every entry ending in ``"loss"`` by default.
    **kwargs
        Passed to :meth:`HistoryDisplay.from_history` (``ylabel``, ``ax``...).

    Returns
    -------
    display : HistoryDisplay

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skcovid.plotting import plot_history
    >>> history = [{"epoch": 1, "valid_acc": 0.6}, {"epoch": 2, "valid_acc": 0.7}]
    >>> plot_history(history, ["valid_acc"], ylabel="accuracy").ax_.get_ylabel()
    'accuracy'
    """
    return HistoryDisplay.from_history(history, keys, **kwargs)
