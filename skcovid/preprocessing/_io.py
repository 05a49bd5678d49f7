"""Reading scans from files or arrays into float32 grayscale."""

from __future__ import annotations

import errno
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
MEDICAL_EXTENSIONS = (".dcm", ".dicom", ".nii", ".nii.gz")

# ITU-R BT.601 luma weights, the ones PIL's "L" conversion uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class ScanReadError(ValueError):
    """A scan could not be read: the message names the file (or array) and the reason.

    Attributes
    ----------
    source : str
        The path, or a description of the array, that failed.
    reason : str
        Why it failed.
    """

    def __init__(self, source, reason):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"Cannot read scan {self.source!r}: {reason}")


def _suffix(path):
    name = str(path).lower()
    return ".nii.gz" if name.endswith(".nii.gz") else os.path.splitext(name)[1]


def _integer_scale(array):
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        if info.max <= 255 and info.min >= 0:
            return array.astype(np.float32) / 255.0
        if info.max <= 65535 and info.min >= 0:
            return array.astype(np.float32) / 65535.0
        # 32-bit integer images (PIL mode "I" holds 16-bit PNGs this way).
        data = array.astype(np.float64)
        low, high = data.min(), data.max()
        if low >= 0 and high <= 65535:
            return (data / (255.0 if high <= 255 else 65535.0)).astype(np.float32)
        return ((data - low) / max(high - low, 1.0)).astype(np.float32)
    return array.astype(np.float32)


def _to_gray(array, source):
    """Collapse an image array of shape (H, W), (H, W, C) or (C, H, W) to (H, W)."""
    if array.ndim == 3:
        if array.shape[-1] in (1, 2, 3, 4):
            channels_last = array
        elif array.shape[0] in (1, 2, 3, 4):
            channels_last = np.moveaxis(array, 0, -1)
        else:
            raise ScanReadError(
                source,
                f"an image array of shape {array.shape} has no channel axis of size 1-4 "
                "first or last; pass (H, W), (H, W, C) or (C, H, W).",
            )
        n_channels = channels_last.shape[-1]
        if n_channels in (1, 2):  # gray or gray + alpha
            array = channels_last[..., 0]
        else:  # RGB or RGBA: drop alpha, weight by luma
            array = channels_last[..., :3].astype(np.float32) @ _LUMA
            return array
    elif array.ndim != 2:
        raise ScanReadError(source, f"expected a 2-D grayscale or 3-D colour image; got shape {array.shape}.")
    return array


def _from_array(array, source="<array>"):
    array = np.asarray(array)
    if array.size == 0:
        raise ScanReadError(source, f"the image array is empty (shape {array.shape}).")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ScanReadError(source, f"unsupported array dtype {array.dtype}; use uint8/uint16/float.")
    if array.ndim == 3 and np.issubdtype(array.dtype, np.integer) and array.shape[-1] in (3, 4):
        gray = _to_gray(_integer_scale(array), source)
    else:
        gray = _integer_scale(_to_gray(array, source))
    gray = np.asarray(gray, dtype=np.float32)
    if not np.all(np.isfinite(gray)):
        raise ScanReadError(source, "the image contains NaN or infinite values; clean or impute it first.")
    return gray


@contextmanager
def _pil_errors(path):
    """Turn whatever PIL raises while opening or decoding ``path`` into :class:`ScanReadError`."""
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except UnidentifiedImageError:
        reason = "the file is not a readable image (corrupt or unsupported format)."
        raise ScanReadError(path, reason) from None
    except Image.DecompressionBombError as exc:
        raise ScanReadError(
            path,
            f"the image is too large to decode safely ({exc}). If you trust the file, raise "
            "PIL.Image.MAX_IMAGE_PIXELS (or set it to None) before loading, or downscale the image.",
        ) from exc
    except PermissionError as exc:
        raise ScanReadError(path, _permission_reason(exc)) from exc
    except Exception as exc:  # PIL's decoders raise OSError, SyntaxError, ValueError, struct.error, ...
        raise ScanReadError(path, f"the image file is corrupt or truncated ({exc}).") from exc


def _permission_reason(exc):
    return (
        f"permission denied ({exc.strerror or exc}); give your user read access to the file "
        "(and execute access to its folders), e.g. chmod a+r."
    )


def _read_pil(path):
    from PIL import Image

    with _pil_errors(path), Image.open(path) as image:
        image.load()
        mode = image.mode
        if mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif mode == "CMYK" or mode == "YCbCr" or mode == "LAB" or mode == "HSV":
            image = image.convert("RGB")
        elif mode == "1":
            image = image.convert("L")
        elif mode.startswith("I;16"):
            return np.asarray(image, dtype=np.uint16)
        return np.asarray(image)


def _verify_pil(path):
    """Check an image file's header and structure without decoding its pixels."""
    from PIL import Image

    with _pil_errors(path), Image.open(path) as image:
        image.verify()


def check_scan_path(path):
    """Raise :class:`ScanReadError` unless ``path`` is a non-empty regular file that can be stat'ed.

    Dangling symbolic links, link loops, folders named like images, missing files and
    permission problems each get their own reason.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            target = os.readlink(path)
            raise ScanReadError(
                path, f"it is a symbolic link to {target!r}, which does not exist; fix or remove the link."
            ) from None
        raise ScanReadError(path, "the file does not exist; check the path or the data folder.") from None
    except PermissionError as exc:
        raise ScanReadError(path, _permission_reason(exc)) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ScanReadError(
                path, "it is a symbolic link that loops back on itself; fix or remove the link."
            ) from None
        raise ScanReadError(path, f"the file cannot be accessed ({exc}).") from exc
    if path.is_dir():
        raise ScanReadError(path, "this is a folder, not an image file; move or rename it.")
    if stat.st_size == 0:
        raise ScanReadError(path, "the file is empty (0 bytes).")
    return path


def check_scan_file(path, *, decode=True):
    """Raise :class:`ScanReadError` unless ``path`` is a readable scan.

    Parameters
    ----------
    path : str or path-like
        The scan file.
    decode : bool, default=True
        Decode every pixel (catches truncated files and NaN pixels, as :func:`read_scan`
        would); otherwise check the file and its image header only.
    """
    if decode:
        read_scan(path)
        return
    path = check_scan_path(path)
    if _suffix(path) in IMAGE_EXTENSIONS:
        _verify_pil(path)


def _read_dicom(path):
    try:
        import pydicom
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("Reading DICOM needs pydicom: pip install 'skcovid[medical]'.") from exc
    try:
        dataset = pydicom.dcmread(path)
        pixels = dataset.pixel_array.astype(np.float32)
    except Exception as exc:  # pydicom raises many kinds
        raise ScanReadError(path, f"the DICOM file cannot be decoded ({exc}).") from exc
    slope = float(getattr(dataset, "RescaleSlope", 1.0))
    intercept = float(getattr(dataset, "RescaleIntercept", 0.0))
    return pixels * slope + intercept  # Hounsfield units for CT


def _read_nifti(path):
    try:
        import nibabel
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("Reading NIfTI needs nibabel: pip install 'skcovid[medical]'.") from exc
    try:
        volume = np.asarray(nibabel.load(path).get_fdata(), dtype=np.float32)
    except Exception as exc:
        raise ScanReadError(path, f"the NIfTI file cannot be decoded ({exc}).") from exc
    if volume.ndim == 3:  # one axial slice: the middle one
        volume = volume[:, :, volume.shape[2] // 2]
    return volume


def read_scan(source, *, on_error="raise"):
    """Read one scan as a float32 grayscale image.

    Parameters
    ----------
    source : str, path-like or ndarray
        A PNG, JPEG, TIFF or BMP file (8- or 16-bit; gray, RGB, RGBA or palette), a DICOM
        or NIfTI file (with the ``medical`` extra), or an array of shape ``(H, W)``,
        ``(H, W, C)`` or ``(C, H, W)``.
    on_error : {"raise", "skip"}, default="raise"
        ``"skip"`` returns None (with a warning) instead of raising.

    Returns
    -------
    ndarray of shape (H, W), float32, or None
        Integer images are scaled to [0, 1] (8-bit by 255, 16-bit by 65535); colour is
        reduced to luma; float arrays are kept as they are (they must be finite);
        DICOM is returned in its rescaled units (Hounsfield units for CT).

    Raises
    ------
    ScanReadError
        For a missing, empty, corrupt, truncated, too large or unsupported file, a dangling
        symbolic link, a folder, a file without read permission, an image with NaN pixels
        or a bad array; the message names the path and the reason. With
        ``on_error="skip"`` all of these are warned about and None is returned.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.preprocessing import read_scan
    >>> read_scan(np.full((4, 4, 3), 255, dtype=np.uint8)).max()
    np.float32(1.0)
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}.")
    try:
        if isinstance(source, np.ndarray):
            return _from_array(source)
        if not isinstance(source, (str, os.PathLike)):
            raise ScanReadError(
                repr(source)[:60], f"expected a path or an array, got {type(source).__name__}."
            )
        path = check_scan_path(source)
        suffix = _suffix(path)
        if suffix in (".dcm", ".dicom"):
            array = _read_dicom(path)
        elif suffix in (".nii", ".nii.gz"):
            array = _read_nifti(path)
        elif suffix in IMAGE_EXTENSIONS or suffix == "":
            array = _read_pil(path)
        else:
            raise ScanReadError(
                path, f"unsupported file type {suffix!r}; supported: {IMAGE_EXTENSIONS + MEDICAL_EXTENSIONS}."
            )
        return _from_array(array, source=str(path))
    except ScanReadError as error:
        if on_error == "raise":
            raise
        warnings.warn(f"Skipped: {error}", stacklevel=2)
        return None


def read_mask(source, *, threshold=0.5):
    """Read a lung mask as a boolean array (``read_scan`` followed by a threshold).

    Parameters
    ----------
    source : str, path-like or ndarray
        The mask file or array.
    threshold : float, default=0.5
        Pixels above this fraction of the maximum value are inside the mask.

    Returns
    -------
    ndarray of shape (H, W), bool
    """
    image = read_scan(source)
    peak = float(image.max())
    return image > threshold * peak if peak > 0 else np.zeros(image.shape, dtype=bool)
