"""Plain torch modules and losses used by the estimators (no scikit-learn in here)."""

from ._adversarial import GradientReversal, ModalityDiscriminator, gradient_reversal
from ._backbones import build_backbone, load_checkpoint, strip_classifier, weights_identity
from ._drenet import DRENetModule, ResNetFPN
from ._embedding_heads import BackboneClassifier, GlobalPool2d, backbone_stages, set_global_pooling
from ._heads import BackboneMLPClassifier, MLPHead
from ._losses import FocalLoss
from ._mlp import MLP, MLPClassifierModule
from ._scratch_cnn import ScanCNN
from ._unet import MultiTaskLoss, MultiTaskUNetModule, ResidualUnit

__all__ = [
    "BackboneClassifier",
    "GlobalPool2d",
    "backbone_stages",
    "set_global_pooling",
    "GradientReversal",
    "MLP",
    "MLPClassifierModule",
    "ModalityDiscriminator",
    "gradient_reversal",
    "BackboneMLPClassifier",
    "DRENetModule",
    "FocalLoss",
    "MLPHead",
    "MultiTaskLoss",
    "MultiTaskUNetModule",
    "ResNetFPN",
    "ResidualUnit",
    "ScanCNN",
    "build_backbone",
    "load_checkpoint",
    "strip_classifier",
    "weights_identity",
]
