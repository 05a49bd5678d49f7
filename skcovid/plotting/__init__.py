"""Evaluation plots as scikit-learn style ``Display`` objects (matplotlib, imported lazily).

- :class:`RocCurveDisplay`: ROC curve with the DeLong CI of the AUC in the legend;
- :class:`CalibrationDisplay`: reliability diagram with per-bin CIs and the Brier score;
- :class:`ConfusionMatrixDisplay` / :func:`plot_confusion_matrices`: one confusion
  matrix per group, e.g. per modality.
"""

from ._calibration import CalibrationDisplay
from ._confusion import ConfusionMatrixDisplay, plot_confusion_matrices
from ._roc import RocCurveDisplay

__all__ = [
    "CalibrationDisplay",
    "ConfusionMatrixDisplay",
    "RocCurveDisplay",
    "plot_confusion_matrices",
]
