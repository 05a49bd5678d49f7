"""ScanPreprocessor: resize, optional CLAHE, CT opening and windowing, channels, normalisation."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..utils import check_scan_table
from ..utils._param_validation import Interval, StrOptions, check_estimator_params
from ._io import read_mask, read_scan

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _resize(image, size, *, nearest=False):
    """Resize a 2-D float image to ``size`` = (height, width) with PIL (antialiased)."""
    from PIL import Image

    height, width = size
    if image.shape == (height, width):
        return image.astype(np.float32, copy=False)
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32))
    return np.array(pil.resize((width, height), resample), dtype=np.float32)


def _clahe(image, clip_limit):
    try:
        from skimage.exposure import equalize_adapthist
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("clahe=True needs scikit-image: pip install 'skcovid[medical]'.") from exc
    return equalize_adapthist(np.clip(image, 0.0, 1.0), clip_limit=clip_limit).astype(np.float32)


class ScanPreprocessor(TransformerMixin, BaseEstimator):
    """Turn scans into network-ready arrays.

    Each scan is read (:func:`read_scan`), CT rows are optionally windowed and opened
    with a grey-level morphological opening (which removes thin bright structures such
    as the scanner table and speckle, a common step for CT slices), CLAHE is optionally
    applied, the image is resized, replicated to ``channels`` and normalised.

    The object is both a scikit-learn transformer over scan tables and a callable for a
    torch ``Dataset``: ``preprocessor(image, modality)`` returns one ``(C, H, W)`` array.

    Parameters
    ----------
    image_size : int or tuple of (int, int), default=224
        Output height and width.
    clahe : bool, default=False
        Contrast-limited adaptive histogram equalisation (needs scikit-image).
    clahe_clip_limit : float, default=0.01
        CLAHE clip limit (scikit-image's normalised units).
    ct_opening : int, default=0
        Size of the square structuring element of the grey opening applied to CT rows;
        0 disables it.
    ct_window : tuple of (float, float), optional
        ``(center, width)`` window applied to CT rows before scaling to [0, 1], for
        images in Hounsfield units (DICOM). None leaves CT intensities as read.
    channels : int, default=3
        Number of output channels (1, or 3 for ImageNet backbones; the gray image is replicated).
    normalize : {"imagenet", "none", "per_image"} or tuple of (mean, std), default="imagenet"
        ImageNet channel statistics, none, per-image standardisation, or explicit values.
    modality_column : str, default="modality"
        The column of the scan table that holds each row's modality.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.preprocessing import ScanPreprocessor
    >>> pre = ScanPreprocessor(image_size=32)
    >>> pre.transform(np.zeros((2, 64, 48), dtype=np.uint8)).shape
    (2, 3, 32, 32)
    """

    _parameter_constraints = {
        "image_size": [Interval(Integral, 8, None, closed="left"), tuple],
        "clahe": ["boolean"],
        "clahe_clip_limit": [Interval(Real, 0, 1, closed="neither")],
        "ct_opening": [Interval(Integral, 0, None, closed="left")],
        "ct_window": [None, tuple],
        "channels": [Interval(Integral, 1, None, closed="left")],
        "normalize": [StrOptions({"imagenet", "none", "per_image"}), tuple],
        "modality_column": [str],
    }

    def __init__(
        self,
        image_size=224,
        *,
        clahe=False,
        clahe_clip_limit=0.01,
        ct_opening=0,
        ct_window=None,
        channels=3,
        normalize="imagenet",
        modality_column="modality",
    ):
        self.image_size = image_size
        self.clahe = clahe
        self.clahe_clip_limit = clahe_clip_limit
        self.ct_opening = ct_opening
        self.ct_window = ct_window
        self.channels = channels
        self.normalize = normalize
        self.modality_column = modality_column

    @property
    def size_(self):
        """The output (height, width)."""
        size = self.image_size
        return (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))

    def _mean_std(self):
        if isinstance(self.normalize, tuple):
            mean, std = self.normalize
        elif self.normalize == "imagenet":
            if self.channels == 3:
                mean, std = IMAGENET_MEAN, IMAGENET_STD
            else:
                mean, std = np.mean(IMAGENET_MEAN), np.mean(IMAGENET_STD)
        else:
            return None
        mean = np.broadcast_to(np.asarray(mean, dtype=np.float32), (self.channels,))
        std = np.broadcast_to(np.asarray(std, dtype=np.float32), (self.channels,))
        if np.any(std <= 0):
            raise ValueError(f"normalize std must be positive; got {tuple(std)}.")
        return mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)

    def preprocess_gray(self, image, modality=None):
        """Read, window, open, equalise and resize one scan; return (H, W) float32."""
        gray = read_scan(image)
        if modality == "ct":
            if self.ct_window is not None:
                center, width = self.ct_window
                gray = np.clip((gray - (center - width / 2.0)) / float(width), 0.0, 1.0)
            if self.ct_opening:
                from scipy.ndimage import grey_opening

                gray = grey_opening(gray, size=(self.ct_opening, self.ct_opening))
        if self.clahe:
            gray = _clahe(gray, self.clahe_clip_limit)
        return _resize(gray, self.size_)

    def __call__(self, image, modality=None):
        """Preprocess one scan into a ``(channels, H, W)`` float32 array."""
        gray = self.preprocess_gray(image, modality)
        if self.normalize == "per_image":
            gray = (gray - gray.mean()) / (gray.std() + 1e-6)
        stats = self._mean_std()
        if stats is None:
            out = np.repeat(gray[None], self.channels, axis=0)
        else:  # broadcasting replicates the channel while normalising
            out = (gray[None] - stats[0]) / stats[1]
        return np.ascontiguousarray(out, dtype=np.float32)

    def resize_mask(self, mask):
        """Read a mask and resize it (nearest neighbour) to ``(H, W)`` float32 in {0, 1}."""
        return _resize(read_mask(mask).astype(np.float32), self.size_, nearest=True)

    def fit(self, X=None, y=None):
        """Validate the parameters; the preprocessor learns nothing from data.

        Parameters
        ----------
        X : scan table, array or list, optional
            Ignored.
        y : None
            Ignored.

        Returns
        -------
        self : ScanPreprocessor
        """
        check_estimator_params(self)
        self.n_channels_ = self.channels
        return self

    def transform(self, X):
        """Preprocess every scan of ``X``.

        Parameters
        ----------
        X : scan table, array of images, or list of paths/arrays

        Returns
        -------
        ndarray of shape (n_scans, channels, H, W), float32
        """
        check_estimator_params(self)
        table = check_scan_table(X)
        modalities = (
            table[self.modality_column].to_numpy()
            if self.modality_column in table.columns
            else [None] * len(table)
        )
        return np.stack([self(image, m) for image, m in zip(table["image"], modalities)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        return tags
