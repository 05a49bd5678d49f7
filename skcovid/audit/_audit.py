"""audit_shortcuts: does a model see the disease, or the hospital?"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..metrics import clinical_report
from ..stats import delong_test
from ..utils import check_scan_table
from ..utils._param_validation import RANDOM_STATE, Interval, StrOptions, validate_params
from ._checks import (
    Folds,
    attribute_codes,
    attribute_predicts_label,
    embeddings_predict_attribute,
    oof_scores,
)
from ._lungs import blank_lungs, has_mask, mean_lung_mask
from ._result import REPORT_COLUMNS, ShortcutAuditResult

CHECK_NAMES = ("label", "embeddings", "estimator", "lungs")
FLAG_AUC = 0.6
_MIN_PER_CLASS = 2


def _positive_label(y, pos_label):
    classes = np.unique(y).tolist()
    if len(classes) != 2:
        raise ValueError(
            f"audit_shortcuts needs a binary target; y has {len(classes)} classes {classes[:6]}."
        )
    if pos_label is None:
        for guess in ("COVID", 1, True):
            if guess in classes:
                return guess
        raise ValueError(f"y has labels {classes}; pass pos_label (e.g. pos_label={classes[0]!r}).")
    if pos_label not in classes:
        raise ValueError(f"pos_label={pos_label!r} is not a label of y, whose labels are {classes}.")
    return pos_label


def _groups(table, groups):
    if groups is None:
        if "patient" not in table.columns:
            return np.arange(len(table))
        return table["patient"].astype(str).to_numpy()
    if isinstance(groups, str):
        if groups not in table.columns:
            raise ValueError(f"groups={groups!r} is not a column of X (columns: {list(table.columns)}).")
        return table[groups].astype(str).to_numpy()
    groups = np.asarray(groups)
    if len(groups) != len(table):
        raise ValueError(f"groups has {len(groups)} entries but X has {len(table)} rows.")
    return groups


def _check_attributes(table, attributes):
    attributes = [attributes] if isinstance(attributes, str) else list(attributes)
    missing = [a for a in attributes if a not in table.columns]
    if missing:
        raise ValueError(
            f"The attributes {missing} are not columns of X (columns: {list(table.columns)}); add them "
            "(load_scan_folder merges every column of the folder's metadata.csv) or audit other attributes."
        )
    return attributes


def _embed(embedder, table, n_jobs):
    """The embedder (default: cached texture features) fitted on ``table``, and its feature matrix."""
    from sklearn.base import clone

    if embedder is None:
        from ..embedders import TextureEmbedder

        embedder = TextureEmbedder(n_jobs=n_jobs, cache=True)
    embedder = clone(embedder).fit(table)
    return embedder, _matrix(embedder.transform(table))


def _matrix(features):
    if isinstance(features, pd.DataFrame):
        features = features.select_dtypes("number")
    return np.asarray(features, dtype=np.float64)


def _lung_rows(table, labels, modality, lung_mask):
    """Rows of ``modality`` whose lungs can be blanked, and the mask used ("own" or a mean mask)."""
    rows = np.flatnonzero(table["modality"].to_numpy() == modality)
    masks = table["mask"].to_numpy()[rows] if "mask" in table.columns else np.full(len(rows), None)
    masked = np.array([has_mask(m) for m in masks], dtype=bool)
    if lung_mask == "none" or not masked.any():
        return rows[:0], None, "no lung masks"
    counts = pd.Series(labels[rows][masked]).value_counts()
    if lung_mask == "own" or (len(counts) == 2 and counts.min() >= _MIN_PER_CLASS):
        return rows[masked], "own", f"own masks ({masked.sum()} scans)"
    region = mean_lung_mask(masks[masked])
    return rows, region, (
        f"masks only on {counts.to_dict()} scans: every scan blanked with the mean of its "
        f"{masked.sum()} masks"
    )


class _Audit:
    """The audit's data and its report rows; each check appends rows through :meth:`add`."""

    def __init__(self, table, y, pos_label, groups, codes, folds, flag_auc):
        self.table, self.y, self.pos_label, self.groups, self.codes = table, y, pos_label, groups, codes
        self.folds, self.flag_auc, self.rows = folds, flag_auc, []
        self.is_pos = y == pos_label
        self.labels = y.astype(str)
        self.modality = table["modality"].astype(str).to_numpy()
        self.modalities = sorted(set(self.modality))
        self.predictive = None  # (attribute, modality) pairs that predict the label, once checked

    def add(self, check, attribute, modality, subset, rows, auc, low, high, note="", flagged=None):
        if flagged is None:
            flagged = bool(np.isfinite(low) and low > self.flag_auc)
        self.rows.append({
            "check": check, "attribute": attribute, "modality": modality, "subset": subset,
            "auc": auc, "ci_low": low, "ci_high": high, "n_scans": int(len(rows)),
            "n_patients": int(len(np.unique(self.groups[rows]))), "flagged": flagged, "note": note,
        })

    def _both_classes(self, rows):
        counts = pd.Series(self.labels[rows]).value_counts()
        return counts, len(counts) == 2 and counts.min() >= _MIN_PER_CLASS

    def label_check(self):
        self.predictive = set()
        for attribute, codes in self.codes.items():
            for m in self.modalities:
                rows = np.flatnonzero(self.modality == m)
                result = attribute_predicts_label(codes[rows], self.is_pos[rows], self.groups[rows],
                                                  self.folds)
                self.add("attribute_predicts_label", attribute, m, "all", rows, *result)
                if self.rows[-1]["flagged"]:
                    self.predictive.add((attribute, m))

    def embeddings_check(self, embeddings):
        for attribute, codes in self.codes.items():
            for m in self.modalities:
                shortcut = self.predictive is None or (attribute, m) in self.predictive
                for subset in ["all", *[f"label={c}" for c in np.unique(self.labels)]]:
                    in_subset = (subset == "all") | (self.labels == subset.removeprefix("label="))
                    rows = np.flatnonzero((self.modality == m) & in_subset)
                    auc, low, high, note = embeddings_predict_attribute(embeddings[rows], codes[rows],
                                                                        self.groups[rows], self.folds)
                    visible = bool(np.isfinite(low) and low > self.flag_auc)
                    if subset == "all":
                        note = "; ".join(filter(None, [note, "carries the label's own signal: flags come "
                                                             "from the per-label rows"]))
                    elif visible and not shortcut:
                        note = "; ".join(filter(None, [note, f"visible, but {attribute!r} does not predict "
                                                             f"the label of {m} scans: not flagged"]))
                    self.add("embeddings_predict_attribute", attribute, m, subset, rows, auc, low, high, note,
                             flagged=visible and shortcut and subset != "all")

    def by_value_check(self, score):
        for m in self.modalities:
            rows = np.flatnonzero(self.modality == m)
            overall = self.folds.auc(self.is_pos[rows], score[rows], self.groups[rows])
            self.add("estimator_by_value", "(none)", m, "all", rows, *overall, flagged=False)
            for attribute, codes in self.codes.items():
                for value in np.unique(codes[rows]):
                    sub = rows[codes[rows] == value]
                    counts, both = self._both_classes(sub)
                    if not both:
                        self.add("estimator_by_value", attribute, m, value, sub, np.nan, np.nan, np.nan,
                                 f"{counts.to_dict()}: no AUC (see stratified)", flagged=False)
                        continue
                    auc, low, high = self.folds.auc(self.is_pos[sub], score[sub], self.groups[sub])
                    self.add("estimator_by_value", attribute, m, value, sub, auc, low, high,
                             flagged=bool(high < overall[0]))

    def lungs_check(self, score, blanked_score, retrained_score, blank_notes):
        for m in self.modalities:
            rows, note = blank_notes[m]
            counts, both = self._both_classes(rows)
            if not both:
                reason = note if not len(rows) else f"{note}; {counts.to_dict()}"
                self.add("lungs_blanked", "(none)", m, "lungs blanked", rows, np.nan, np.nan, np.nan,
                         f"skipped: {reason}", flagged=False)
                continue
            truth, groups = self.is_pos[rows], self.groups[rows]
            intact = self.folds.auc(truth, score[rows], groups)
            self.add("lungs_blanked", "(none)", m, "intact", rows, *intact, flagged=False)
            test = delong_test(truth, score[rows], blanked_score[rows])
            self.add("lungs_blanked", "(none)", m, "lungs blanked", rows,
                     *self.folds.auc(truth, blanked_score[rows], groups),
                     f"model trained on intact scans; {note}; DeLong p={test.pvalue:.2g} against intact")
            if np.isfinite(retrained_score[rows]).all():
                self.add("lungs_blanked", "(none)", m, "lungs blanked, retrained", rows,
                         *self.folds.auc(truth, retrained_score[rows], groups),
                         "model trained on blanked scans: is the label readable outside the lungs?")

    def stratified_report(self, score):
        codes = self.codes
        by = np.array([f"{m}/{a}={v}" for a in codes for m, v in zip(self.modality, codes[a])])
        reps = len(codes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            return clinical_report(np.tile(self.y, reps), np.tile(score, reps), pos_label=self.pos_label,
                                   groups=np.tile(self.groups, reps), by=by, ci=self.folds.ci,
                                   n_bootstraps=self.folds.n_bootstraps, random_state=self.folds.random_state)


@validate_params({
    "checks": [tuple, list],
    "lung_mask": [StrOptions({"auto", "own", "mean", "none"})],
    "ci": [Interval(Real, 0, 1, closed="neither")],
    "flag_auc": [Interval(Real, 0.5, 1, closed="left")],
    "n_bootstraps": [Interval(Integral, 10, None)],
    "n_jobs": [None, Integral],
    "random_state": [RANDOM_STATE, None],
})
def audit_shortcuts(X, y, *, attributes=("source",), estimator=None, embedder=None, groups=None,
                    pos_label=None, checks=CHECK_NAMES, lung_mask="auto", cv=5, ci=0.95, flag_auc=FLAG_AUC,
                    n_bootstraps=1000, n_jobs=None, random_state=None):
    """Audit a scan table for shortcuts: can the label be read from where a scan comes from?

    Models of COVID-19 on chest images often learn the hospital, the patients' age or the
    markers rather than the disease (DeGrave, Janizek & Lee, Nature Machine Intelligence
    2021). Four checks, per modality, each an out-of-fold ROC AUC on folds that never split
    a patient, with a patient-bootstrap CI (:func:`~skcovid.metrics.clinical_report`):

    ``"label"`` (check ``attribute_predicts_label``)
        The label predicted from one metadata attribute alone (one-hot encoded, logistic
        regression; numbers with many values in quintiles, missing values as a category).
        Flagged when the CI lies above ``flag_auc``: the attribute is a shortcut a model
        can take.
    ``"embeddings"`` (``embeddings_predict_attribute``)
        The attribute predicted from the image embeddings (standardised, logistic
        regression; macro one-vs-rest AUC) within each class (``subset="label=<class>"``):
        can a model *see* where a scan comes from, beyond the disease? Flagged above
        ``flag_auc`` when the attribute also predicts the label in that modality (or when
        the ``"label"`` check did not run). The row on all scans (``subset="all"``) is
        shown, never flagged: it also carries the label's own signal.
    ``"estimator"`` (``estimator_by_value``)
        The estimator's AUC within each value of the attribute, against its AUC on the
        whole modality (``subset="all"``). A value whose CI lies entirely below that AUC is
        flagged: part of the pooled AUC comes from telling the values apart. Values with
        one class only have no AUC; their sensitivity or specificity is in ``stratified``.
    ``"lungs"`` (``lungs_blanked``)
        The lung-mask test: the estimator, trained on intact scans, scores scans whose
        lungs are blanked out (:func:`blank_lungs`). Its AUC on them (``subset="lungs
        blanked"``, against ``"intact"`` on the same rows) staying above ``flag_auc`` means
        it uses cues outside the lungs. Blanked scans are unlike anything it was trained on,
        so that AUC can also fall for that reason alone; the row ``"lungs blanked,
        retrained"`` therefore trains the estimator on blanked scans too: above ``flag_auc``,
        the label can be read outside the lungs, and a model may learn to. Both flag above
        ``flag_auc``.

    Parameters
    ----------
    X : DataFrame
        A scan table (``image``, ``modality``, ``patient``, ``mask``) with the attribute
        columns, e.g. ``load_scan_folder(root).data``.
    y : array-like of shape (n_scans,)
        Binary labels.
    attributes : str or sequence of str, default=("source",)
        Metadata columns of ``X`` to audit (``"source"``, ``"view"``, ``"age"``, ...).
    estimator : classifier, optional
        A classifier over scan tables with ``predict_proba`` (e.g.
        :func:`~skcovid.multimodal.make_mtl_pipeline`), cloned and fitted on each fold.
        Default: logistic regression on the ``embedder``'s standardised features. To audit an
        already fitted model, pass :class:`sklearn.frozen.FrozenEstimator` of it and
        held-out scans.
    embedder : transformer, optional
        Image embedder of the ``"embeddings"`` check (and of the default estimator).
        Default: :class:`~skcovid.embedders.TextureEmbedder` with its in-process cache.
    groups : str or array-like, optional
        Patient of each row: a column name or values; default the ``patient`` column
        (each row its own patient without it).
    pos_label : object, optional
        The positive class; default ``"COVID"`` (or 1, or True) when it is a label.
    checks : sequence of {"label", "embeddings", "estimator", "lungs"}, default=all
        Which checks to run (``"label"`` alone needs no image).
    lung_mask : {"auto", "own", "mean", "none"}, default="auto"
        Scans blanked in the lung-mask test, per modality: ``"own"``: the scans with a mask,
        each blanked with it (both classes must have masks for an AUC); ``"mean"``: every
        scan of the modality blanked with the mean of its masks (:func:`mean_lung_mask`,
        pixels inside at least 25 % of them), which does not give a class away through the
        shape of its masks; ``"auto"``: ``"own"`` when both classes have at least two
        masks, else ``"mean"``; ``"none"``: skip. Modalities without masks are skipped.
    cv : int or cross-validation splitter, default=5
        Folds (``StratifiedGroupKFold``, shuffled with ``random_state``, for an int).
    ci : float, default=0.95
        Confidence level.
    flag_auc : float in [0.5, 1), default=0.6
        The AUC a check's lower CI bound must exceed to flag. 0.6 is the usual bound of a
        "failed" discrimination: an attribute that predicts the label better than that, with
        confidence, can carry a model.
    n_bootstraps : int, default=1000
        Patient-bootstrap replicates of each CI.
    n_jobs : int, optional
        Processes of the default embedder.
    random_state : int, RandomState instance or None, default=None
        Makes the folds and the bootstrap repeatable.

    Returns
    -------
    ShortcutAuditResult
        ``report`` (tidy, one row per check), ``stratified``, ``scores``, ``plot()``;
        ``print(result)`` gives a report to paste into a review.

    See Also
    --------
    audit_scan_folder : the same on a folder of scans.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.audit import audit_shortcuts
    >>> from skcovid.datasets import make_synthetic_scans
    >>> data = make_synthetic_scans(120, image_size=32, random_state=0)
    >>> X, y = data.data, data.target
    >>> X["source"] = np.where(y == "COVID", "hospital_a", "hospital_b")  # a perfect shortcut
    >>> result = audit_shortcuts(X, y, checks=["label"], random_state=0)
    >>> result.shortcut_attributes()
    [('source', 'ct'), ('source', 'xray')]
    """
    table = check_scan_table(X)
    y = np.asarray(y)
    if len(y) != len(table):
        raise ValueError(f"y has {len(y)} entries but X has {len(table)} rows.")
    unknown = sorted(set(checks) - set(CHECK_NAMES))
    if unknown or not checks:
        raise ValueError(f"checks must be some of {list(CHECK_NAMES)}; got {list(checks)}.")
    pos_label = _positive_label(y, pos_label)
    attributes = _check_attributes(table, attributes)
    if "modality" not in table.columns:
        table = table.assign(modality="all")
    groups = _groups(table, groups)
    folds = Folds(cv, ci=ci, n_bootstraps=n_bootstraps, random_state=random_state)
    audit = _Audit(table, y, pos_label, groups, {a: attribute_codes(table[a]) for a in attributes}, folds,
                   flag_auc)
    if "label" in checks:
        audit.label_check()
    need_estimator = "estimator" in checks or "lungs" in checks
    embeddings = fitted_embedder = None
    if "embeddings" in checks or (need_estimator and estimator is None):
        fitted_embedder, embeddings = _embed(embedder, table, n_jobs)
    if "embeddings" in checks:
        audit.embeddings_check(embeddings)
    stratified = scores = None
    if need_estimator:
        blanked, blank_notes = _blanked_scans(audit, lung_mask if "lungs" in checks else "none")
        if estimator is None:
            model, data = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500)), embeddings
            if blanked is not None:
                blanked = (blanked[0], _matrix(fitted_embedder.transform(blanked[1])))
        else:
            model, data = estimator, table
        strata = np.char.add(audit.labels, np.char.add("|", audit.modality))
        score, *blanked_scores = oof_scores(model, data, y, pos_label, folds.split(strata, groups), blanked)
        if "estimator" in checks:
            audit.by_value_check(score)
        if "lungs" in checks:
            audit.lungs_check(score, *blanked_scores, blank_notes)
        stratified = audit.stratified_report(score)
        scores = pd.DataFrame({"modality": audit.modality, "label": y, "score": score,
                               "score_lungs_blanked": blanked_scores[0],
                               "score_lungs_blanked_retrained": blanked_scores[1]}, index=table.index)
    report = pd.DataFrame(audit.rows, columns=REPORT_COLUMNS)
    return ShortcutAuditResult(report=report, stratified=stratified, scores=scores, flag_auc=flag_auc,
                               ci=ci, pos_label=pos_label)


def _blanked_scans(audit, lung_mask):
    """``((positions, blanked table) or None, {modality: (rows, note)})`` for the lung-mask test."""
    positions, parts, notes = [], [], {}
    for m in audit.modalities:
        rows, region, note = _lung_rows(audit.table, audit.labels, m, lung_mask)
        if len(rows):
            positions.append(rows)
            region = "own" if isinstance(region, str) else region
            parts.append(blank_lungs(audit.table.iloc[rows], mask=region))
        notes[m] = (rows, note)
    if not positions:
        return None, notes
    return (np.concatenate(positions), pd.concat(parts)), notes


def audit_scan_folder(root, *, split=None, modalities=None, attributes=("source",), **options):
    """Run :func:`audit_shortcuts` on a folder of scans (what ``skcovid audit FOLDER`` calls).

    Parameters
    ----------
    root : str or path-like
        A folder in the ``X_Ray_Train/COVID``, ``CT_Scan_Test/Non_COVID``, ... layout, with the
        attributes as columns of its ``metadata.csv`` (see
        :func:`~skcovid.datasets.load_scan_folder`).
    split : {"train", "test"} or list, optional
        Which of the folder's splits to audit; both by default.
    modalities : {"xray", "ct"} or list, optional
        Which modalities to audit; both by default.
    attributes : str or sequence of str, default=("source",)
        Metadata columns to audit.
    **options
        More parameters of :func:`audit_shortcuts` (``estimator``, ``checks``, ``cv``,
        ``random_state``, ...).

    Returns
    -------
    ShortcutAuditResult

    Examples
    --------
    >>> import tempfile
    >>> from skcovid.audit import audit_scan_folder
    >>> from skcovid.datasets import make_synthetic_scans
    >>> folder = tempfile.mkdtemp()
    >>> _ = make_synthetic_scans(60, image_size=32, random_state=0, directory=folder)
    >>> result = audit_scan_folder(folder, attributes="split", checks=["label"], random_state=0)
    >>> result.report[["attribute", "modality", "flagged"]]
      attribute modality  flagged
    0     split       ct    False
    1     split     xray    False
    """
    from ..datasets import load_scan_folder

    bunch = load_scan_folder(root, split=split, modalities=modalities)
    return audit_shortcuts(bunch.data, bunch.target, attributes=attributes, **options)
