"""Overlap scores of segmentation masks: Dice and intersection over union."""

from numbers import Real

import numpy as np

from ..utils._param_validation import Interval, Options, validate_params

_CONSTRAINTS = {
    "threshold": [Interval(Real, None, None)],
    "empty": [Options("one", "zero", "nan")],
    "reduce": [Options("mean", "none")],
}
_EMPTY_VALUE = {"one": 1.0, "zero": 0.0, "nan": np.nan}


def _as_images(masks, name):
    """A list of per-image arrays from an (n, ...) array or a sequence of arrays."""
    if isinstance(masks, np.ndarray) and masks.dtype != object:
        if masks.ndim < 3:
            raise ValueError(
                f"{name} must hold one mask per image, shape (n_images, height, width) "
                f"(or a list of 2-D arrays); got shape {masks.shape}, which would be read as "
                f"{masks.shape[0]} one-dimensional images. For a single mask pass mask[None]."
            )
        return list(masks)
    images = [np.asarray(m) for m in masks]
    for i, image in enumerate(images):
        if image.ndim < 2:
            raise ValueError(
                f"{name}[{i}] has shape {image.shape}; each mask must be an image (2-D or "
                "3-D). Pass a list of masks, or an array of shape (n_images, height, width)."
            )
    return images


def _intersection_and_sizes(y_true_mask, y_pred_mask, threshold):
    truths = _as_images(y_true_mask, "y_true_mask")
    preds = _as_images(y_pred_mask, "y_pred_mask")
    if len(truths) != len(preds):
        raise ValueError(
            f"y_true_mask has {len(truths)} images but y_pred_mask has {len(preds)}; "
            "pass one predicted mask per true mask."
        )
    stats = np.empty((len(truths), 3))
    for i, (truth, pred) in enumerate(zip(truths, preds)):
        if truth.shape != pred.shape:
            raise ValueError(
                f"Image {i}: y_true_mask has shape {truth.shape} but y_pred_mask has "
                f"{pred.shape}; resize the prediction to the true mask."
            )
        if truth.dtype != bool and not np.isin(truth, (0, 1)).all():
            raise ValueError(
                f"y_true_mask must be binary (0/1 or bool); image {i} holds other values. "
                "Binarise it first, e.g. mask > 0."
            )
        if np.issubdtype(pred.dtype, np.floating) and np.isnan(pred).any():
            raise ValueError(f"y_pred_mask image {i} contains NaN; fix the prediction.")
        truth = truth.astype(bool)
        pred = pred if pred.dtype == bool else pred >= threshold
        stats[i] = np.count_nonzero(truth & pred), truth.sum(), pred.sum()
    return stats.T


def _finish(numerator, denominator, empty, reduce):
    scores = np.full(numerator.shape, _EMPTY_VALUE[empty])
    np.divide(numerator, denominator, out=scores, where=denominator > 0)
    if reduce == "none":
        return scores
    if np.isnan(scores).all():
        return np.nan
    return float(np.nanmean(scores))


@validate_params(_CONSTRAINTS)
def dice_score(y_true_mask, y_pred_mask, *, threshold=0.5, empty="one", reduce="mean"):
    """Dice coefficient ``2 |A & B| / (|A| + |B|)`` of each image's masks.

    Parameters
    ----------
    y_true_mask : array-like of shape (n_images, ...) or list of arrays
        Binary ground-truth masks (0/1 or bool), one per image; a list may hold masks of
        different sizes. The first axis always indexes images: pass ``mask[None]`` for
        a single mask.
    y_pred_mask : array-like of the same shape(s)
        Predicted masks: booleans, or probabilities/0-1 values binarised as
        ``>= threshold``.
    threshold : float, default=0.5
        Threshold applied to a non-boolean ``y_pred_mask``.
    empty : {"one", "zero", "nan"}, default="one"
        Score of an image whose true and predicted masks are both empty: 1.0 (a
        correct "nothing there"), 0.0, or NaN (left out of the mean).
    reduce : {"mean", "none"}, default="mean"
        ``"mean"`` returns the mean over images, ``"none"`` one score per image.

    Returns
    -------
    score : float or ndarray of shape (n_images,)

    See Also
    --------
    iou_score : intersection over union, ``dice / (2 - dice)`` per image.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.metrics import dice_score
    >>> truth = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]]])
    >>> proba = np.array([[[0.9, 0.2], [0.1, 0.0]], [[0.1, 0.0], [0.2, 0.3]]])
    >>> dice_score(truth, proba, reduce="none")
    array([0.66666667, 1.        ])
    >>> dice_score(truth, proba, empty="nan")
    0.666...
    """
    intersection, n_true, n_pred = _intersection_and_sizes(y_true_mask, y_pred_mask, threshold)
    return _finish(2 * intersection, n_true + n_pred, empty, reduce)


@validate_params(_CONSTRAINTS)
def iou_score(y_true_mask, y_pred_mask, *, threshold=0.5, empty="one", reduce="mean"):
    """Intersection over union (Jaccard index) ``|A & B| / |A | B|`` of each image.

    Parameters
    ----------
    y_true_mask : array-like of shape (n_images, ...) or list of arrays
        Binary ground-truth masks (0/1 or bool), one per image (first axis = images).
    y_pred_mask : array-like of the same shape(s)
        Predicted masks: booleans, or values binarised as ``>= threshold``.
    threshold : float, default=0.5
        Threshold applied to a non-boolean ``y_pred_mask``.
    empty : {"one", "zero", "nan"}, default="one"
        Score when both masks of an image are empty (see :func:`dice_score`).
    reduce : {"mean", "none"}, default="mean"
        Mean over images, or one score per image.

    Returns
    -------
    score : float or ndarray of shape (n_images,)

    See Also
    --------
    dice_score

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.metrics import iou_score
    >>> truth = np.array([[[1, 1], [0, 0]]])
    >>> pred = np.array([[[1, 0], [1, 0]]], dtype=bool)
    >>> iou_score(truth, pred)
    0.333...
    """
    intersection, n_true, n_pred = _intersection_and_sizes(y_true_mask, y_pred_mask, threshold)
    return _finish(intersection, n_true + n_pred - intersection, empty, reduce)
