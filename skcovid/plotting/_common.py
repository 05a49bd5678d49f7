"""Helpers shared by the displays: scores from an estimator, axes, legends, tick labels."""

import numpy as np

from ..metrics._validation import resolve_pos_label


def estimator_scores(estimator, X, pos_label=None, response_method="auto"):
    """Scores of the positive class from a fitted binary classifier.

    Returns ``(scores, pos_label)``. ``response_method="auto"`` tries
    ``predict_proba`` then ``decision_function``.
    """
    classes = getattr(estimator, "classes_", None)
    if classes is None or len(classes) != 2:
        raise ValueError(
            f"{type(estimator).__name__} must be a fitted binary classifier (classes_ of "
            f"length 2); got classes_={classes!r}. Fit it first, or plot one class with "
            "from_predictions."
        )
    pos_label = resolve_pos_label(np.asarray(classes), pos_label, name="estimator.classes_")
    methods = ("predict_proba", "decision_function") if response_method == "auto" else (
        response_method,
    )
    method = next((m for m in methods if hasattr(estimator, m)), None)
    if method is None:
        raise ValueError(
            f"{type(estimator).__name__} has none of {list(methods)}; choose another "
            "response_method or use from_predictions."
        )
    response = getattr(estimator, method)(X)
    positive = list(classes).index(pos_label)
    if method == "predict_proba":
        return response[:, positive], pos_label
    return (response if positive == 1 else -response), pos_label


def new_axes(ax):
    """``ax`` if given, else the axes of a new figure with constrained layout.

    Constrained layout keeps the axis labels and a legend below the axes (see
    :func:`legend_below`) inside the figure.
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(layout="constrained")[1]


def _text_height(size_key):
    """Height in points of one line of text at the rcParams font size ``size_key``."""
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    return 1.2 * FontProperties(size=rcParams[size_key]).get_size_in_points()


def legend_below(ax, **kwargs):
    """Put the legend of ``ax`` under its x label, so that it never covers the curves.

    The legend hangs from the bottom of the axes by the height of the x tick labels and
    the x label (in points, so it stays clear of them at any figure size); a figure with
    constrained layout, or one saved with ``bbox_inches="tight"``, makes room for it.

    Parameters
    ----------
    ax : matplotlib Axes
        Axes whose labelled artists go in the legend.
    **kwargs
        Passed to ``ax.legend``.

    Returns
    -------
    legend : matplotlib Legend
    """
    from matplotlib import rcParams
    from matplotlib.transforms import ScaledTranslation

    below = (rcParams["xtick.major.size"] + rcParams["xtick.major.pad"]
             + _text_height("xtick.labelsize") + rcParams["axes.labelpad"]
             + _text_height("axes.labelsize") + 4)
    anchor = ax.transAxes + ScaledTranslation(0, -below / 72, ax.figure.dpi_scale_trans)
    options = {"loc": "upper center", "bbox_to_anchor": (0.5, 0), "bbox_transform": anchor,
               "borderaxespad": 0, "fontsize": "small", "frameon": False, **kwargs}
    return ax.legend(**options)


def wrap_label(text, width=12):
    """Break a long class name over lines at spaces, underscores and hyphens.

    ``"Non_COVID"`` stays on one line; ``"Non_COVID_pneumonia"`` becomes
    ``"Non_COVID_\\npneumonia"``. A word longer than ``width`` is left whole.
    """
    import re

    lines = [""]
    for piece in re.split(r"(?<=[ _-])", str(text)):
        if lines[-1] and len(lines[-1]) + len(piece.rstrip()) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(line.rstrip() for line in lines)
