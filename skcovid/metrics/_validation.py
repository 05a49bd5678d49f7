"""Input checks shared by the metrics, stats and plotting functions.

Every error names the argument at fault and says how to fix it.
"""

import numpy as np

_DEFAULT_POSITIVE_SETS = ({0, 1}, {-1, 1})
#: Label taken as the positive class by the scorers when it is one of the classes.
DEFAULT_POSITIVE_NAME = "COVID"


def plain(value):
    """``value`` as a Python scalar (``np.str_('COVID')`` -> ``'COVID'``) for messages."""
    return value.item() if isinstance(value, np.generic) else value


def check_labels(y, name):
    """Return ``y`` as a 1-D numpy array of labels, rejecting missing values."""
    if hasattr(y, "to_numpy"):  # pandas Series / Index / one-column DataFrame
        y = y.to_numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional (one label per sample); got an array of "
            f"shape {y.shape}."
        )
    if y.shape[0] == 0:
        raise ValueError(f"{name} is empty; pass at least one sample.")
    missing = _count_missing(y)
    if missing:
        raise ValueError(
            f"{name} contains {missing} missing value(s) (NaN/None); drop those samples "
            "before computing the metric."
        )
    return y


def _count_missing(y):
    if y.dtype.kind == "f":
        return int(np.isnan(y).sum())
    if y.dtype.kind == "O":
        return int(sum(v is None or (isinstance(v, float) and v != v) for v in y))
    return 0


def check_scores(y_score, name, *, allow_2d=False):
    """Return ``y_score`` as a finite float array (1-D, or 2-D if ``allow_2d``)."""
    if hasattr(y_score, "to_numpy"):
        y_score = y_score.to_numpy()
    try:
        y_score = np.asarray(y_score, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must hold numbers (probabilities or decision scores); it could not "
            f"be converted to float ({exc}). Pass predict_proba(X)[:, 1] or "
            "decision_function(X), not predicted labels."
        ) from None
    allowed = (1, 2) if allow_2d else (1,)
    if y_score.ndim not in allowed:
        hint = " For a binary problem pass the positive column, e.g. proba[:, 1]."
        raise ValueError(
            f"{name} must be {'1-D or 2-D' if allow_2d else '1-D'}; got shape "
            f"{y_score.shape}.{'' if allow_2d else hint}"
        )
    bad = ~np.isfinite(y_score)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s); drop or impute "
            "those samples before computing the metric."
        )
    return y_score


def check_same_length(**arrays):
    """Raise if the named arrays do not all have the same number of samples."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(
            f"Inputs must have one entry per sample, but {described}; pass arrays of "
            "the same length."
        )


def resolve_pos_label(y_true, pos_label, *, name="y_true"):
    """Return the positive label, inferring it only for {0, 1}, {-1, 1} and booleans.

    Raises a ``ValueError`` asking for ``pos_label`` when it cannot be inferred, and when
    ``pos_label`` is not one of the labels of a two-class ``y_true``.
    """
    classes = np.unique(y_true)
    if pos_label is None:
        if classes.dtype.kind == "b":
            return True
        values = set(classes.tolist())
        if classes.dtype.kind in "iuf" and any(values <= s for s in _DEFAULT_POSITIVE_SETS):
            return 1
        raise ValueError(
            f"{name} has labels {classes.tolist()}, so the positive class cannot be "
            f"guessed; pass pos_label, e.g. pos_label={plain(classes[0])!r}."
        )
    if len(classes) == 2 and pos_label not in classes.tolist():
        raise ValueError(
            f"pos_label={plain(pos_label)!r} is not a label of {name}, whose labels are "
            f"{classes.tolist()}; pass one of them."
        )
    return pos_label


def binary_target(y_true, pos_label, *, name="y_true", need_both=True):
    """Return ``(is_positive, pos_label)`` for a binary target.

    ``need_both`` requires positive and negative samples (as ROC AUC does).
    """
    classes = np.unique(y_true)
    if len(classes) > 2:
        raise ValueError(
            f"{name} has {len(classes)} classes {classes.tolist()[:6]}, but this "
            "function needs a binary target; binarise it (e.g. y == 'COVID') first."
        )
    pos_label = resolve_pos_label(y_true, pos_label, name=name)
    is_pos = y_true == pos_label
    if need_both and (is_pos.all() or not is_pos.any()):
        raise ValueError(
            f"{name} contains only one class ({classes.tolist()}); the metric needs "
            "both positive and negative samples. Evaluate on data with both classes."
        )
    return np.asarray(is_pos, dtype=bool), pos_label


def default_pos_label(classes):
    """The positive class the scorers use: ``"COVID"`` when it is a class, else as
    :func:`resolve_pos_label` infers it (1 for {0, 1} and {-1, 1}, ``True`` for booleans).
    """
    classes = np.unique(np.asarray(classes))
    if DEFAULT_POSITIVE_NAME in classes.tolist():
        return DEFAULT_POSITIVE_NAME
    return resolve_pos_label(classes, None, name="the classes")


def check_predicted_labels(y_true, y_pred, name):
    """Reject ``y_pred`` that holds scores, or labels of another type than ``y_true``.

    ``y_true`` and ``y_pred`` are 1-D arrays from :func:`check_labels`.
    """
    if y_pred.dtype.kind == "f" and not np.all(np.mod(y_pred, 1) == 0):
        raise ValueError(
            f"{name} holds non-integer numbers such as {plain(y_pred[np.mod(y_pred, 1) != 0][0])!r}: "
            "it looks like scores or probabilities, but this test compares predicted "
            f"labels. Pass estimator.predict(X), or threshold the scores (e.g. score >= 0.5)."
        )
    true_labels, pred_labels = np.unique(y_true), np.unique(y_pred)
    text_true, text_pred = y_true.dtype.kind in "OUS", y_pred.dtype.kind in "OUS"
    if text_true != text_pred or not np.isin(pred_labels, true_labels).any():
        raise ValueError(
            f"{name} has labels {[plain(v) for v in pred_labels[:6]]} but y_true has "
            f"{[plain(v) for v in true_labels[:6]]}: no predicted label is a true label. "
            "Pass predictions in the same label type as y_true (e.g. both 'COVID'/'Non_COVID')."
        )
