"""Evaluation plots as scikit-learn style ``Display`` objects (matplotlib, imported lazily).

- :class:`RocCurveDisplay`: ROC curve with the DeLong CI of the AUC in the legend;
- :class:`CalibrationDisplay`: reliability diagram with per-bin CIs and the Brier score;
- :class:`ConfusionMatrixDisplay` / :func:`plot_confusion_matrices`: one confusion
  matrix per group, e.g. per modality;
- :class:`HistoryDisplay` / :func:`plot_history`: training curves (loss per epoch);
- :func:`plot_critical_difference`: Demsar's critical-difference diagram of several models.
"""

from ._calibration import CalibrationDisplay
from ._confusion import ConfusionMatrixDisplay, plot_confusion_matrices
from ._critical_difference import CriticalDifferenceDisplay, plot_critical_difference
from ._history import HistoryDisplay, plot_history
from ._roc import RocCurveDisplay

__all__ = [
    "CalibrationDisplay",
    "ConfusionMatrixDisplay",
    "CriticalDifferenceDisplay",
    "HistoryDisplay",
    "RocCurveDisplay",
    "plot_confusion_matrices",
    "plot_critical_difference",
    "plot_history",
]
