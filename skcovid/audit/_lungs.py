"""Blanking the lungs out of scans: what is left is everything a model should not need."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ..preprocessing import read_mask, read_scan
from ..utils import check_scan_table
from ..utils._param_validation import Interval, validate_params


def has_mask(value):
    """Whether a ``mask`` cell holds a mask (an array, or a non-empty path)."""
    if isinstance(value, np.ndarray):
        return True
    return isinstance(value, (str, os.PathLike)) and str(value).strip() != ""


def _resized(inside, shape):
    """A boolean mask resized (bilinear, then halved) to ``shape``."""
    if inside.shape == tuple(shape):
        return inside
    from skimage.transform import resize

    return resize(inside.astype(np.float32), shape, order=1, anti_aliasing=False) >= 0.5


def _as_mask(value):
    array = np.asarray(value) if isinstance(value, np.ndarray) else None
    if array is not None and array.dtype == bool:
        return array
    return read_mask(value)


@validate_params({"size": [Interval(Integral, 8, None)], "level": [Interval(Real, 0, 1, closed="right")]})
def mean_lung_mask(masks, *, size=128, level=0.25):
    """The typical lung region of some scans: pixels inside at least ``level`` of their masks.

    Each mask is resized to ``size`` x ``size`` (so masks of different sizes and aspect
    ratios are compared in relative coordinates) and the share of masks covering each pixel
    is thresholded at ``level``. A low ``level`` gives a generous region that covers the
    lungs of most scans.

    Parameters
    ----------
    masks : sequence of path-like or ndarray
        Lung masks (files or arrays, e.g. ``X["mask"]``); empty entries (None, NaN, "")
        are skipped.
    size : int, default=128
        Side of the square grid the masks are averaged on.
    level : float in (0, 1], default=0.25
        Share of masks a pixel must be inside of.

    Returns
    -------
    ndarray of shape (size, size), bool

    Raises
    ------
    ValueError
        When no entry holds a mask.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.audit import mean_lung_mask
    >>> left, right = np.zeros((8, 8), bool), np.zeros((8, 8), bool)
    >>> left[:, :4], right[:, 2:6] = True, True
    >>> mean_lung_mask([left, right], size=8, level=1.0)[0].astype(int)
    array([0, 0, 1, 1, 0, 0, 0, 0])
    """
    present = [m for m in masks if has_mask(m)]
    if not present:
        raise ValueError("mean_lung_mask got no masks (every entry is empty); pass lung masks.")
    share = np.zeros((size, size), dtype=np.float64)
    for mask in present:
        share += _resized(_as_mask(mask), (size, size))
    return share / len(present) >= level


def blank_lungs(X, *, mask="own"):
    """Scans with the lungs blanked out: every pixel inside the lung mask set to the image minimum.

    A model that still tells COVID from non-COVID on such scans reads cues outside the
    lungs (text markers, the body's size, the collimation, the source's processing): the
    lung-mask test of :func:`audit_shortcuts`. The lungs are set to the darkest value of
    the image, close to what air looks like on an X-ray or a CT slice.

    Parameters
    ----------
    X : DataFrame
        A scan table (``image`` and, with ``mask="own"``, ``mask`` columns).
    mask : "own" or ndarray of bool, default="own"
        ``"own"``: each row's ``mask``; an array: the same region for every row (e.g.
        :func:`mean_lung_mask`), resized to each image.

    Returns
    -------
    DataFrame
        A copy of ``X`` whose ``image`` column holds the blanked float32 images.

    Raises
    ------
    ValueError
        With ``mask="own"``, for a row without a mask, naming its index and image.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skcovid.audit import blank_lungs
    >>> image = np.full((4, 4), 200, dtype=np.uint8)
    >>> lungs = np.zeros((4, 4), bool)
    >>> lungs[1:3, 1:3] = True
    >>> image[lungs] = 50
    >>> out = blank_lungs(pd.DataFrame({"image": [image], "mask": [lungs]}))
    >>> np.round(out["image"][0] * 255).astype(int)[1]
    array([200,  50,  50, 200])
    >>> float(out["image"][0][lungs].max()) == float(out["image"][0].min())
    True
    """
    table = check_scan_table(X, copy=True)
    own = isinstance(mask, str)
    if own and mask != "own":
        raise ValueError(f"mask must be 'own' or a boolean array; got {mask!r}.")
    if own and "mask" not in table.columns:
        raise ValueError(
            "blank_lungs(mask='own') reads the 'mask' column, which X lacks "
            f"(columns: {list(table.columns)}); add lung masks "
            "or pass one region for all rows (mask=mean_lung_mask(...))."
        )
    shared = None if own else np.asarray(mask, dtype=bool)
    images = []
    for index, image in zip(table.index, table["image"]):
        region = table.at[index, "mask"] if own else shared
        if own and not has_mask(region):
            name = image if isinstance(image, (str, os.PathLike)) else "an in-memory image"
            raise ValueError(
                f"Row {index!r} ({name}) has no lung mask; blank only rows with masks, or pass "
                "mask=mean_lung_mask(X['mask']) to use the typical lung region."
            )
        gray = np.array(read_scan(image), dtype=np.float32)
        gray[_resized(_as_mask(region), gray.shape)] = gray.min()
        images.append(gray)
    table["image"] = pd.Series(images, index=table.index, dtype=object)
    return table
