"""End-to-end image estimators: a fine-tuned classifier, a multi-task UNet and DRENet.

Each takes the scan table ``X`` (or an array of images), trains a torch network with
skorch (early stopping on a patient-grouped split of the training rows) and exposes
``module_``, ``preprocessor_``, ``classes_`` and ``device_`` for Grad-CAM, ONNX export
and ``skcovid predict``.
"""

from ._augment import ScanAugment
from ._base import BaseImageNet
from ._classifier import ImageClassifier
from ._drenet import DRENetClassifier
from ._unet import MultiTaskUNet

__all__ = ["BaseImageNet", "DRENetClassifier", "ImageClassifier", "MultiTaskUNet", "ScanAugment"]
