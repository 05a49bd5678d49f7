"""Helpers shared by the displays: scores from an estimator, axes creation."""

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
    """``ax`` if given, else the axes of a new figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots()[1]
