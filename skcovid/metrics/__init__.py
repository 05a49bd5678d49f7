"""Clinical metrics, confidence intervals, operating thresholds and segmentation scores.

- :func:`sensitivity_score`, :func:`specificity_score`, :func:`npv_score` and their
  scorers for ``GridSearchCV`` (:func:`get_scorer` knows their names);
- :func:`clinical_report`: every clinical metric with (cluster) bootstrap, Wilson or
  Clopper-Pearson CIs, per group, per scan or per patient;
- :func:`youden_threshold`, :func:`threshold_for_sensitivity`,
  :func:`threshold_for_specificity`: operating points with bootstrap CIs;
- :func:`dice_score`, :func:`iou_score`: segmentation overlap.
"""

from ._classification import npv_score, sensitivity_score, specificity_score
from ._operating_point import PatientStratifiedKFold, PerModalityThresholdClassifierCV
from ._report import ClinicalReport, clinical_report
from ._scorers import get_scorer, npv_scorer, sensitivity_scorer, specificity_scorer
from ._segmentation import dice_score, iou_score
from ._thresholds import (
    ThresholdResult,
    threshold_for_sensitivity,
    threshold_for_specificity,
    youden_threshold,
)

__all__ = [
    "ClinicalReport",
    "PatientStratifiedKFold",
    "PerModalityThresholdClassifierCV",
    "ThresholdResult",
    "clinical_report",
    "dice_score",
    "get_scorer",
    "iou_score",
    "npv_score",
    "npv_scorer",
    "sensitivity_score",
    "sensitivity_scorer",
    "specificity_score",
    "specificity_scorer",
    "threshold_for_sensitivity",
    "threshold_for_specificity",
    "youden_threshold",
]
