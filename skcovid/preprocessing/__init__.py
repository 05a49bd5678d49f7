"""Reading scans and preprocessing them for networks."""

from ._dataset import ScanDataset
from ._io import IMAGE_EXTENSIONS, ScanReadError, read_mask, read_scan
from ._preprocessor import IMAGENET_MEAN, IMAGENET_STD, ScanPreprocessor

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_EXTENSIONS",
    "ScanDataset",
    "ScanPreprocessor",
    "ScanReadError",
    "read_mask",
    "read_scan",
]
