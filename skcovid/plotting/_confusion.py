"""Confusion matrices, one panel per group (e.g. one per modality)."""

import numpy as np
from sklearn.metrics import confusion_matrix

from ..metrics._validation import check_labels, check_same_length
from ._common import wrap_label


class ConfusionMatrixDisplay:
    """Confusion matrices side by side, one panel per value of a grouping variable.

    Each panel is drawn by :class:`sklearn.metrics.ConfusionMatrixDisplay`; all panels
    share the same label order so they can be compared (e.g. X-ray against CT).

    Parameters
    ----------
    confusion_matrices : dict
        Maps each group name to its (n_labels, n_labels) confusion matrix (rows: true
        labels, columns: predicted labels).
    display_labels : array-like of shape (n_labels,), default=None
        Tick labels of the classes.

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes
        One axes per group, in the order of ``confusion_matrices``.
    figure_ : matplotlib Figure
    displays_ : dict
        The scikit-learn display of each group.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skcovid.plotting import plot_confusion_matrices
    >>> y_true = ["COVID", "Non_COVID", "COVID", "COVID", "Non_COVID", "COVID"]
    >>> y_pred = ["COVID", "COVID", "COVID", "Non_COVID", "Non_COVID", "COVID"]
    >>> modality = ["xray", "xray", "xray", "ct", "ct", "ct"]
    >>> display = plot_confusion_matrices(y_true, y_pred, by=modality)
    >>> [ax.get_title() for ax in display.ax_]
    ['ct (n = 3)', 'xray (n = 3)']
    >>> display.confusion_matrices["xray"].tolist()
    [[2, 0], [1, 0]]
    """

    def __init__(self, confusion_matrices, *, display_labels=None):
        self.confusion_matrices = confusion_matrices
        self.display_labels = display_labels

    def plot(self, *, axes=None, include_values=True, cmap="Blues", values_format=None,
             colorbar=False, xticks_rotation="horizontal", titles=None):
        """Draw one confusion matrix per group.

        Parameters
        ----------
        axes : array-like of matplotlib Axes, default=None
            One axes per group; a new figure with a row of panels by default.
        include_values : bool, default=True
            Write the counts (or rates) in the cells.
        cmap : str or matplotlib Colormap, default="Blues"
            Colour map.
        values_format : str, default=None
            Format of the cell values (e.g. ``".2f"``).
        colorbar : bool, default=False
            Add a colour bar to each panel.
        xticks_rotation : {"vertical", "horizontal"} or float, default="horizontal"
            Rotation of the predicted-label ticks.
        titles : dict, default=None
            Panel title of each group; the group name by default.

        Returns
        -------
        self : ConfusionMatrixDisplay
        """
        from sklearn.metrics import ConfusionMatrixDisplay as SklearnDisplay

        groups = list(self.confusion_matrices)
        if axes is None:
            import matplotlib.pyplot as plt

            _, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 4), squeeze=False,
                                   layout="constrained")
        axes = np.asarray(axes, dtype=object).ravel()
        if len(axes) != len(groups):
            raise ValueError(f"axes has {len(axes)} axes but there are {len(groups)} groups "
                             f"({groups}); pass one axes per group.")
        titles = titles or {}
        self.displays_ = {}
        for ax, group in zip(axes, groups):
            display = SklearnDisplay(self.confusion_matrices[group],
                                     display_labels=self.display_labels)
            display.plot(ax=ax, include_values=include_values, cmap=cmap, colorbar=colorbar,
                         values_format=values_format, xticks_rotation=xticks_rotation)
            ax.set_title(titles.get(group, str(group)))
            _wrap_tick_labels(ax)
            self.displays_[group] = display
        self.ax_, self.figure_ = axes, axes[0].figure
        return self

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, by=None, labels=None, normalize=None,
                         sample_weight=None, display_labels=None, axes=None, **kwargs):
        """Plot confusion matrices of predictions, one panel per value of ``by``.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_samples,)
            True and predicted labels.
        by : array-like of shape (n_samples,), default=None
            Grouping variable (e.g. modality); None gives one panel titled "all".
        labels : array-like, default=None
            Label order; by default all labels of ``y_true`` and ``y_pred``, sorted.
        normalize : {"true", "pred", "all"}, default=None
            Normalise counts over true labels (rows), predictions or all samples.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        display_labels : array-like, default=None
            Tick labels; ``labels`` by default.
        axes : array-like of matplotlib Axes, default=None
            One axes per group.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ConfusionMatrixDisplay
        """
        y_true = check_labels(y_true, "y_true")
        y_pred = check_labels(y_pred, "y_pred")
        by = np.full(len(y_true), "all", dtype=object) if by is None else check_labels(by, "by")
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        check_same_length(y_true=y_true, y_pred=y_pred, by=by, sample_weight=weights)
        if labels is None:
            labels = np.unique(np.concatenate([y_true, y_pred]))
        matrices, titles = {}, {}
        for group in np.unique(by):
            rows = by == group
            matrices[group] = confusion_matrix(
                y_true[rows], y_pred[rows], labels=labels, normalize=normalize,
                sample_weight=None if weights is None else weights[rows],
            )
            titles[group] = f"{group} (n = {int(rows.sum())})"
        display = cls(matrices, display_labels=labels if display_labels is None else display_labels)
        return display.plot(axes=axes, titles=titles, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, by=None, **kwargs):
        """Plot confusion matrices of a fitted classifier's predictions on ``(X, y)``.

        Parameters
        ----------
        estimator : fitted classifier
            Its ``predict(X)`` gives the predicted labels.
        X : array-like or DataFrame
            Input samples (e.g. a scan table).
        y : array-like of shape (n_samples,)
            True labels.
        by : str or array-like of shape (n_samples,), default=None
            Grouping variable, or the name of a column of ``X`` such as ``"modality"``.
        **kwargs
            Passed to :meth:`from_predictions`.

        Returns
        -------
        display : ConfusionMatrixDisplay
        """
        if isinstance(by, str):
            if not hasattr(X, "columns") or by not in X.columns:
                raise ValueError(f"by={by!r} names no column of X; pass the group values "
                                 "as an array or a DataFrame X with that column.")
            by = X[by]
        return cls.from_predictions(y, estimator.predict(X), by=by, **kwargs)


def _wrap_tick_labels(ax):
    """Break long class names over lines: x labels to the width of a column, y at 12 chars."""
    ticks = ax.xaxis.get_ticklabels()
    if not ticks:
        return
    column_inches = ax.get_position().width * ax.figure.get_figwidth() / len(ticks)
    char_inches = 0.6 * ticks[0].get_fontsize() / 72  # an average character of a sans font
    columns = max(6, int(column_inches / char_inches) - 1)
    for axis, width in ((ax.xaxis, columns), (ax.yaxis, 12)):
        axis.set_ticks(axis.get_ticklocs(),
                       [wrap_label(tick.get_text(), width) for tick in axis.get_ticklabels()])


def plot_confusion_matrices(y_true, y_pred, *, by=None, **kwargs):
    """Plot one confusion matrix per group, e.g. per modality.

    Shorthand for :meth:`ConfusionMatrixDisplay.from_predictions`.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    by : array-like of shape (n_samples,), default=None
        Grouping variable; one panel per value.
    **kwargs
        Passed to :meth:`ConfusionMatrixDisplay.from_predictions` (``labels``,
        ``normalize``, ``axes``, ``cmap``...).

    Returns
    -------
    display : ConfusionMatrixDisplay

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skcovid.plotting import plot_confusion_matrices
    >>> display = plot_confusion_matrices([0, 1, 1, 0], [0, 1, 0, 0])
    >>> len(display.ax_)
    1
    """
    return ConfusionMatrixDisplay.from_predictions(y_true, y_pred, by=by, **kwargs)
