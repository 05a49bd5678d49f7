"""Plain torch modules and losses used by the estimators (no scikit-learn in here)."""

from ._backbones import build_backbone, load_checkpoint, strip_classifier, weights_identity
from ._losses import FocalLoss

__all__ = ["FocalLoss", "build_backbone", "load_checkpoint", "strip_classifier", "weights_identity"]
