"""Shortcut audits: does a model see the disease, or where the scan comes from?

- :func:`audit_shortcuts` (and :func:`audit_scan_folder` for a folder): how well each
  metadata attribute alone predicts the label, how well image embeddings predict the
  attribute, the estimator's performance within each attribute value, and the lung-mask
  test, per modality, out-of-fold by patient, with confidence intervals;
- :class:`ShortcutAuditResult`: the tidy report, a printout to paste and a forest plot;
- :func:`blank_lungs`, :func:`mean_lung_mask`: scans with the lungs blanked out.
"""

from ._audit import audit_scan_folder, audit_shortcuts
from ._lungs import blank_lungs, mean_lung_mask
from ._result import ShortcutAuditResult

__all__ = [
    "ShortcutAuditResult",
    "audit_scan_folder",
    "audit_shortcuts",
    "blank_lungs",
    "mean_lung_mask",
]
