"""Reading scans and preprocessing them for networks.

Everything here works with numpy and PIL alone; :class:`ScanDataset` (a torch
``Dataset``) is imported on first use, so that inference without torch (ONNX Runtime)
does not load it.
"""

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


def __getattr__(name):
    if name == "ScanDataset":
        from ._dataset import ScanDataset

        return ScanDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
