"""ShortcutAuditResult: the audit's tidy report, its printout and its forest plot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CHECKS = {
    "attribute_predicts_label": "the attribute alone predicts the label",
    "embeddings_predict_attribute": "image embeddings predict the attribute",
    "estimator_by_value": "the estimator within each attribute value",
    "lungs_blanked": "the estimator on scans with the lungs blanked out",
}

REPORT_COLUMNS = ["check", "attribute", "modality", "subset", "auc", "ci_low", "ci_high", "n_scans",
                  "n_patients", "flagged", "note"]


@dataclass(frozen=True, eq=False)
class ShortcutAuditResult:
    """What :func:`audit_shortcuts` found.

    Attributes
    ----------
    report : DataFrame
        One row per check, attribute, modality and subset, with the columns ``check``,
        ``attribute``, ``modality``, ``subset`` (``"all"``, ``"label=<class>"``, an attribute
        value, ``"intact"`` or ``"lungs blanked"``), ``auc``, ``ci_low``, ``ci_high``
        (patient-bootstrap interval), ``n_scans``, ``n_patients``, ``flagged`` and ``note``.
    stratified : DataFrame or None
        :func:`~skcovid.metrics.clinical_report` of the estimator's out-of-fold
        probabilities, one block (``group``) per ``"<modality>/<attribute>=<value>"``:
        sensitivity, specificity and the rest where an AUC cannot be computed.
    scores : DataFrame or None
        The estimator's out-of-fold probability of the positive class for each row of
        ``X`` (``score``) and, where the lungs could be blanked, on the blanked scan
        (``score_lungs_blanked``; ``score_lungs_blanked_retrained`` by a model trained on
        blanked scans), with ``modality`` and ``label``.
    flag_auc : float
        The AUC above which (lower CI bound) a check flags.
    ci : float
        Confidence level of the intervals.
    pos_label : object
        The positive class.
    """

    report: pd.DataFrame
    stratified: pd.DataFrame | None
    scores: pd.DataFrame | None
    flag_auc: float
    ci: float
    pos_label: object

    @property
    def flagged(self):
        """The flagged rows of ``report``."""
        return self.report[self.report["flagged"]].reset_index(drop=True)

    def shortcut_attributes(self):
        """``(attribute, modality)`` pairs whose values alone predict the label (flagged).

        Returns
        -------
        list of tuple
        """
        rows = self.flagged[self.flagged["check"] == "attribute_predicts_label"]
        return list(zip(rows["attribute"], rows["modality"]))

    def __str__(self):
        table = self.report.copy()
        level = round(self.ci * 100)
        table["auc"] = [
            "n/a" if np.isnan(a) else f"{a:.3f} [{lo:.3f}, {hi:.3f}]"
            for a, lo, hi in zip(table["auc"], table["ci_low"], table["ci_high"])
        ]
        table["flagged"] = np.where(table["flagged"], "FLAG", "")
        table = table.drop(columns=["ci_low", "ci_high"]).rename(columns={"auc": f"ROC AUC [{level}% CI]"})
        lines = [
            f"Shortcut audit: ROC AUC out-of-fold by patient-grouped folds, {level}% patient-bootstrap "
            f"CIs; positive class {self.pos_label!r}.",
            f"A check flags when its CI lies above AUC {self.flag_auc:g} (for 'estimator_by_value': "
            "when it lies below the estimator's AUC on the whole modality).",
        ]
        for attribute, modality in self.shortcut_attributes():
            lines.append(f"Shortcut risk: {attribute!r} predicts the label of {modality} scans on its own.")
        return "\n".join(lines) + "\n\n" + table.to_string(index=False)

    def plot(self, ax=None):
        """Forest plot of every AUC with its CI; flagged rows in red.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure otherwise.

        Returns
        -------
        ax : matplotlib Axes
        """
        import matplotlib.pyplot as plt

        rows = self.report[self.report["auc"].notna()].iloc[::-1]
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 0.9 + 0.28 * max(len(rows), 1)), layout="constrained")
        y = np.arange(len(rows))
        colour = np.where(rows["flagged"], "tab:red", "tab:blue")
        low = (rows["auc"] - rows["ci_low"]).clip(lower=0)
        high = (rows["ci_high"] - rows["auc"]).clip(lower=0)
        for position, auc, lo, hi, c in zip(y, rows["auc"], low, high, colour):
            ax.errorbar(auc, position, xerr=[[lo], [hi]], fmt="o", color=c, capsize=3)
        ax.axvline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (0.5)")
        ax.axvline(self.flag_auc, color="tab:red", linestyle=":", linewidth=1,
                   label=f"flag ({self.flag_auc:g})")
        ax.set_yticks(y, [f"{c.split('_')[0]}: {a} | {m} | {s}"
                          for c, a, m, s in zip(rows["check"], rows["attribute"], rows["modality"],
                                                rows["subset"])], fontsize=8)
        ax.set_xlim(0, 1.02)
        ax.set_xlabel(f"ROC AUC ({round(self.ci * 100)}% CI); red: flagged")
        ax.legend(loc="lower left", fontsize=8)
        return ax
