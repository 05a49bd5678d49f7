"""Sensitivity, specificity and negative predictive value with scikit-learn signatures."""

import warnings
from numbers import Real

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import multilabel_confusion_matrix

from ..utils._param_validation import Interval, Options, validate_params
from ._validation import check_labels, check_same_length, plain

# Which cells of a per-class confusion matrix [[tn, fp], [fn, tp]] make each ratio.
_RATIOS = {
    "sensitivity": ((1, 1), ((1, 1), (1, 0))),  # tp / (tp + fn)
    "specificity": ((0, 0), ((0, 0), (0, 1))),  # tn / (tn + fp)
    "npv": ((0, 0), ((0, 0), (1, 0))),  # tn / (tn + fn)
}

_CONSTRAINTS = {
    "average": [Options("binary", "micro", "macro", "weighted"), None],
    "zero_division": [Options("warn"), Interval(Real, 0, 1), Options(np.nan)],
}


def _class_ratio(kind, y_true, y_pred, *, labels, pos_label, average, sample_weight,
                 zero_division):
    y_true = check_labels(y_true, "y_true")
    y_pred = check_labels(y_pred, "y_pred")
    check_same_length(y_true=y_true, y_pred=y_pred, sample_weight=sample_weight)
    present = np.unique(np.concatenate([y_true, y_pred]))
    if average == "binary":
        if len(present) > 2:
            raise ValueError(
                f"The target has {len(present)} classes {present.tolist()[:6]} but "
                "average='binary'; pass average='macro', 'micro', 'weighted' or None."
            )
        mixed_types = present.dtype.kind in "OUS" and not isinstance(pos_label, str)
        if pos_label not in present.tolist() and (len(present) == 2 or mixed_types):
            raise ValueError(
                f"pos_label={plain(pos_label)!r} is not a valid label; the labels are "
                f"{present.tolist()}. Pass pos_label=<the positive class>, "
                f"e.g. pos_label={plain(present[0])!r}."
            )
        labels = [pos_label]
    mcm = multilabel_confusion_matrix(
        y_true, y_pred, sample_weight=sample_weight, labels=labels
    )
    (ni, nj), denominators = _RATIOS[kind]
    numerator = mcm[:, ni, nj].astype(float)
    denominator = sum(mcm[:, i, j] for i, j in denominators).astype(float)
    if average == "micro":
        numerator, denominator = numerator.sum(keepdims=True), denominator.sum(keepdims=True)
    undefined = denominator == 0
    if undefined.any() and zero_division == "warn":
        warnings.warn(
            f"{kind} is ill-defined (empty denominator) for {int(undefined.sum())} "
            "label(s) and is set to 0.0; pass zero_division to choose the value.",
            UndefinedMetricWarning,
            stacklevel=4,
        )
    fill = 0.0 if zero_division == "warn" else float(zero_division)
    ratio = np.divide(numerator, denominator, out=np.full_like(numerator, fill),
                      where=~undefined)
    if average in ("binary", "micro"):
        return float(ratio[0])
    if average is None:
        return ratio
    if average == "weighted":
        support = mcm[:, 1, 1] + mcm[:, 1, 0]
        if support.sum() == 0:
            return 0.0
        return float(np.average(ratio, weights=support))
    return float(np.mean(ratio))


@validate_params(_CONSTRAINTS)
def sensitivity_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                      sample_weight=None, zero_division="warn"):
    """Compute the sensitivity (recall, true positive rate) ``tp / (tp + fn)``.

    The signature follows :func:`sklearn.metrics.recall_score`, whose value it equals.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (numbers, booleans or strings such as ``"COVID"``).
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        Labels to include when ``average != "binary"``; by default all labels present
        in ``y_true`` and ``y_pred``, sorted.
    pos_label : int, float, bool or str, default=1
        The positive class when ``average="binary"``. With string labels it must be set,
        e.g. ``pos_label="COVID"``.
    average : {"binary", "micro", "macro", "weighted"} or None, default="binary"
        ``"binary"`` reports ``pos_label`` only; otherwise each label is scored one
        vs. rest and the scores are averaged: ``"micro"`` pools the counts, ``"macro"``
        is the plain mean, ``"weighted"`` weights each label by its number of true
        samples; ``None`` returns the per-label scores.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    zero_division : "warn", float in [0, 1] or np.nan, default="warn"
        Value returned when the denominator is zero; ``"warn"`` returns 0.0 and warns.

    Returns
    -------
    score : float or ndarray of shape (n_labels,)
        The sensitivity (an array when ``average=None``).

    See Also
    --------
    specificity_score, npv_score
    clinical_report : all clinical metrics with bootstrap confidence intervals.

    Examples
    --------
    >>> from skcovid.metrics import sensitivity_score
    >>> y_true = ["COVID", "COVID", "Non_COVID", "Non_COVID"]
    >>> y_pred = ["COVID", "Non_COVID", "Non_COVID", "Non_COVID"]
    >>> sensitivity_score(y_true, y_pred, pos_label="COVID")
    0.5
    """
    return _class_ratio(
        "sensitivity", y_true, y_pred, labels=labels, pos_label=pos_label,
        average=average, sample_weight=sample_weight, zero_division=zero_division,
    )


@validate_params(_CONSTRAINTS)
def specificity_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                      sample_weight=None, zero_division="warn"):
    """Compute the specificity (true negative rate) ``tn / (tn + fp)``.

    Specificity of ``pos_label`` is the sensitivity of the other class. Parameters
    are those of :func:`sensitivity_score`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        Labels to include when ``average != "binary"``.
    pos_label : int, float, bool or str, default=1
        The positive class when ``average="binary"`` (set it for string labels).
    average : {"binary", "micro", "macro", "weighted"} or None, default="binary"
        How to average the one-vs-rest specificities; ``"weighted"`` weights each
        label by its number of true samples, as scikit-learn does.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    zero_division : "warn", float in [0, 1] or np.nan, default="warn"
        Value returned when there are no negative samples.

    Returns
    -------
    score : float or ndarray of shape (n_labels,)
        The specificity (an array when ``average=None``).

    See Also
    --------
    sensitivity_score, npv_score

    Examples
    --------
    >>> from skcovid.metrics import specificity_score
    >>> specificity_score([0, 0, 0, 1], [0, 1, 0, 1])
    0.666...
    >>> specificity_score([0, 1, 2, 2], [0, 2, 2, 2], average=None)
    array([1. , 1. , 0.5])
    """
    return _class_ratio(
        "specificity", y_true, y_pred, labels=labels, pos_label=pos_label,
        average=average, sample_weight=sample_weight, zero_division=zero_division,
    )


@validate_params(_CONSTRAINTS)
def npv_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
              sample_weight=None, zero_division="warn"):
    """Compute the negative predictive value ``tn / (tn + fn)``.

    The share of samples predicted negative that are truly negative: how far a
    negative test result rules the disease out. Parameters are those of
    :func:`sensitivity_score`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        Labels to include when ``average != "binary"``.
    pos_label : int, float, bool or str, default=1
        The positive class when ``average="binary"`` (set it for string labels).
    average : {"binary", "micro", "macro", "weighted"} or None, default="binary"
        How to average the one-vs-rest values.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    zero_division : "warn", float in [0, 1] or np.nan, default="warn"
        Value returned when nothing is predicted negative.

    Returns
    -------
    score : float or ndarray of shape (n_labels,)
        The negative predictive value (an array when ``average=None``).

    See Also
    --------
    sensitivity_score, specificity_score

    Examples
    --------
    >>> from skcovid.metrics import npv_score
    >>> npv_score([1, 1, 0, 0], [1, 0, 0, 0])
    0.666...
    """
    return _class_ratio(
        "npv", y_true, y_pred, labels=labels, pos_label=pos_label,
        average=average, sample_weight=sample_weight, zero_division=zero_division,
    )
