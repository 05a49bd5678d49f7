"""The multi-modal multi-task system: routing by modality, task-specific and shared features, heads.

- :class:`ModalityRouter`: one estimator per modality, rows routed by their ``modality``;
- :class:`MultiModalEmbedder`: the embedding step (per-modality and joint spaces);
- :class:`TaskSpecificExtractor`: an MLP trained on the diagnosis, read at its last hidden layer;
- :class:`SharedFeatureExtractor`: one encoder for all modalities, optionally adversarial
  against a modality discriminator (gradient reversal or min-max);
- :class:`MultiTaskFeatures`: task-specific and shared features side by side;
- :class:`ClassifierHead`: the MLP classifier on top;
- :func:`make_mtl_pipeline` and :class:`MultiModalMTLClassifier`: the standard system;
- :class:`PerModalitySampler`: SMOTE (or any imbalanced-learn sampler) within each modality,
  before the head;
- :func:`probe_modality`: how well a fresh classifier reads the modality from features;
- :func:`predict_patients`, :func:`fuse_probabilities`: one prediction per patient.
"""

from ._embedding import MultiModalEmbedder
from ._features import MultiTaskFeatures
from ._fusion import fuse_probabilities, predict_patients
from ._head import ClassifierHead
from ._pipeline import MultiModalMTLClassifier, make_embedder, make_mtl_pipeline
from ._probe import ModalityProbeResult, probe_modality
from ._resample import PerModalitySampler
from ._router import ModalityRouter
from ._shared import SharedFeatureExtractor
from ._task_specific import TaskSpecificExtractor

__all__ = [
    "ClassifierHead",
    "ModalityRouter",
    "MultiModalEmbedder",
    "MultiModalMTLClassifier",
    "ModalityProbeResult",
    "MultiTaskFeatures",
    "PerModalitySampler",
    "SharedFeatureExtractor",
    "TaskSpecificExtractor",
    "fuse_probabilities",
    "make_embedder",
    "make_mtl_pipeline",
    "predict_patients",
    "probe_modality",
]
