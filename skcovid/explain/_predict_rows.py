"""Prediction rows for scan files: probabilities, mask, Grad-CAM overlay, one model run per batch.

:func:`predict_rows` is what ``skcovid predict`` (and
:func:`skcovid.distributed.predict_to_csv` on each partition) runs; :class:`PredictionWriter`
appends its rows to ``predictions.csv`` batch by batch, so that an interrupted run keeps
its finished rows and ``resume`` finishes the job.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from ..preprocessing import read_scan
from ._contract import CONTRACT, estimator_device, is_multilabel, split_outputs
from ._gradcam import GradCAM, _capture, _named_layer, evaluation_mode
from ._overlay import _fit


class _Decider:
    """Turns probabilities into displayed labels (threshold, positive label, multi-label)."""

    def __init__(self, classes, multilabel, threshold, positive_label, model_thresholds=None):
        self.classes = [str(c) for c in classes]
        self.multilabel = multilabel
        self.threshold = threshold
        cuts = threshold if threshold is not None else model_thresholds  # multi-label only
        cuts = np.asarray(0.5 if cuts is None else cuts, dtype=float)
        self.cuts = np.broadcast_to(cuts, (len(self.classes),))
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold (--threshold) must be in [0, 1]; got {threshold}.")
        if threshold is not None and not multilabel and len(self.classes) != 2:
            raise ValueError(
                f"threshold (--threshold) applies to binary and multi-label models; this model has "
                f"{len(self.classes)} classes {self.classes}: drop it."
            )
        if positive_label is None:
            positive_label = "COVID" if "COVID" in self.classes else self.classes[-1]
        if str(positive_label) not in self.classes:
            raise ValueError(
                f"positive_label (--positive-label {positive_label!r}) is not a class of the "
                f"model {self.classes}."
            )
        self.positive = self.classes.index(str(positive_label))

    def index(self, proba):
        """The class index to explain (and, single-label, to predict) for one row."""
        if self.threshold is None or self.multilabel:
            return int(np.argmax(proba))
        return self.positive if proba[self.positive] >= self.threshold else 1 - self.positive

    def label(self, proba):
        if not self.multilabel:
            return self.classes[self.index(proba)]
        return ";".join(c for c, p, cut in zip(self.classes, proba, self.cuts) if p >= cut) or "none"


def _scan_modality(path, choice="auto"):
    """``choice``, or for "auto" "ct" when a parent folder is named CT* (CT, ct_..., ct-...), else "xray"."""
    if choice != "auto":
        return choice
    parts = [part.lower() for part in Path(path).parts[:-1]]
    return "ct" if any(p == "ct" or p.startswith(("ct_", "ct-")) for p in parts) else "xray"


# -- one model run per batch -------------------------------------------------------------
class _Engine:
    """Preprocess one scan at a time, run the model once per batch: probabilities, masks, heatmaps."""

    def __init__(self, model, decider, gradcam, target_layer):
        self.model, self.decider = model, decider
        self.kind = (
            "onnx"
            if hasattr(model, "run_graph")
            else "torch"
            if all(hasattr(model, name) for name in CONTRACT)
            else "other"
        )
        outputs = model.metadata_["output_names"] if self.kind == "onnx" else ()
        self.has_mask = "mask" in outputs if self.kind == "onnx" else hasattr(model, "predict_mask")
        self.cam = GradCAM(model, target_layer=target_layer) if gradcam and self.kind == "torch" else None
        if self.cam is not None and isinstance(target_layer, str):
            _named_layer(model.module_, target_layer)  # a wrong name fails now, not once per scan

    def prepare(self, path, gray, modality):
        """What the model takes for one scan: the preprocessed array, or (other models) the path."""
        if self.kind == "other":
            return str(path)
        return self.model.preprocessor_(gray, modality)

    def run(self, inputs, modalities):
        """``(proba, masks or None, heatmaps or None)`` for a batch of prepared scans."""
        if self.kind == "torch":
            return self._torch(np.stack(inputs))
        if self.kind == "onnx":
            outputs = self.model.run_graph(np.stack(inputs))
            masks = outputs["mask"][:, 0] if self.has_mask else None
            return np.asarray(outputs["probabilities"], dtype=float), masks, None
        import pandas as pd

        table = pd.DataFrame({"image": inputs, "modality": modalities})
        masks = np.asarray(self.model.predict_mask(table)) if self.has_mask else None
        return np.asarray(self.model.predict_proba(table), dtype=float), masks, None

    def _torch(self, images):
        import torch
        from scipy.special import expit, softmax

        model, cam = self.model, self.cam
        module, device = model.module_, estimator_device(model)
        precision = getattr(getattr(model, "net_", None), "forward_with_precision", None)
        x = torch.from_numpy(images).to(device)
        with evaluation_mode(module), torch.enable_grad() if cam else torch.no_grad():
            layers = {}
            if cam is not None:
                name, layer = cam._resolve_layer(module, images[:1], device)
                cam.target_layer_, layers = name, {name: layer}
                x.requires_grad_(True)
            with _capture(layers) as records:
                output = module(x) if precision is None else precision(module, x)
            logits, mask_logits = split_outputs(output)
            values = logits.detach().cpu().double().numpy()
            proba = expit(values) if is_multilabel(model) else softmax(values, axis=1)
            masks = None if mask_logits is None else torch.sigmoid(mask_logits[:, 0]).detach().cpu().numpy()
            if cam is None:
                return proba, masks, None
            scores = cam._scores(logits, [self.decider.index(p) for p in proba])
            return proba, masks, _heatmaps(records[-1][1], scores, tuple(x.shape[-2:]))


def _heatmaps(activation, scores, size):
    """Grad-CAM maps in [0, 1] at ``size`` from a layer's activation and the class scores."""
    import torch
    import torch.nn.functional as F

    (gradient,) = torch.autograd.grad(scores.sum(), activation)
    maps = torch.relu((gradient.mean(dim=(2, 3), keepdim=True) * activation).sum(dim=1, keepdim=True))
    maps = F.interpolate(maps.float(), size=size, mode="bilinear", align_corners=False)[:, 0]
    peak = maps.flatten(1).amax(dim=1)[:, None, None]
    maps = torch.where(peak > 1e-11, maps / peak.clamp_min(1e-12), torch.zeros_like(maps))
    return maps.clamp(0.0, 1.0).detach().cpu().numpy()


# -- overlays ----------------------------------------------------------------------------
def _thumbnail(gray, size):
    """``gray`` scaled down so that its longer side is at most ``size`` pixels."""
    height, width = gray.shape
    scale = size / max(height, width)
    if scale >= 1:
        return gray
    return _fit(gray, (max(1, round(height * scale)), max(1, round(width * scale))))


def _overlay_name(number, path):
    """``NNNN_stem.png``: the stem with anything but letters, digits, '.', '-' as '_' (60 at most)."""
    stem = re.sub(r"[^\w.-]+", "_", Path(path).stem)[:60]
    return f"{number:04d}_{stem}.png"


def _save_overlay(path, gray, heatmap, mask, title):
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    from ._overlay import plot_gradcam

    height, width = gray.shape
    aspect = min(max(height / width, 0.25), 4.0)  # a 400 px wide figure, at most 1,650 px tall
    fig = Figure(figsize=(4, 4 * aspect + 0.5))
    plot_gradcam(gray, heatmap, mask=mask, ax=fig.subplots(), title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# -- rows --------------------------------------------------------------------------------
def _read(engine, number, path, modality, overlay_size):
    """Read one scan: ``(number, path, modality, model input, thumbnail)``; the full image is dropped."""
    gray = read_scan(path)
    return number, path, modality, engine.prepare(path, gray, modality), _thumbnail(gray, overlay_size)


def _run_safely(engine, items):
    """Outputs for ``items`` from one model run; if it fails, one run per scan (error text if that fails)."""
    try:
        proba, masks, maps = engine.run([item[3] for item in items], [item[2] for item in items])
        return [
            (p, None if masks is None else masks[i], None if maps is None else maps[i])
            for i, p in enumerate(proba)
        ]
    except Exception as exc:  # a scan the model cannot take must not lose the others
        if len(items) == 1:
            return [f"{type(exc).__name__}: {exc}"]
        return [result for item in items for result in _run_safely(engine, [item])]


def _rows(engine, decider, paths, numbers, overlays, modality, batch_size, overlay_size):
    columns = ["path", "predicted", *[f"proba_{c}" for c in decider.classes]]
    columns += ["mask_fraction"] if engine.has_mask else []
    columns += ["overlay", "error"]
    for start in range(0, len(paths), batch_size):
        rows, items = [], []
        for number, path in zip(numbers[start : start + batch_size], paths[start : start + batch_size]):
            rows.append({**dict.fromkeys(columns, ""), "path": str(path)})
            try:
                items.append(
                    (
                        len(rows) - 1,
                        *_read(engine, number, path, _scan_modality(path, modality), overlay_size),
                    )
                )
            except Exception as exc:  # ScanReadError, or anything a broken file raises
                rows[-1]["error"] = str(exc)
        results = _run_safely(engine, [item[1:] for item in items]) if items else []
        for (index, number, path, _, _, thumb), result in zip(items, results):
            row = rows[index]
            if isinstance(result, str):  # the model failed on this scan
                row["error"] = result
                continue
            proba, mask, heatmap = result
            try:
                row.update(_row_values(decider, proba, mask))
                if overlays is not None:
                    caption = ", ".join(f"{c} {v:.2f}" for c, v in zip(decider.classes, proba))
                    overlay = Path(overlays) / _overlay_name(number, path)
                    _save_overlay(overlay, thumb, heatmap, mask, f"{row['predicted']}\n{caption}")
                    row["overlay"] = str(overlay)
            except Exception as exc:  # a scan whose overlay cannot be drawn
                row.update({**dict.fromkeys(columns[1:], ""), "error": f"{type(exc).__name__}: {exc}"})
        yield rows


def _row_values(decider, proba, mask):
    values = {"predicted": decider.label(proba)}
    values.update({f"proba_{c}": f"{v:.6f}" for c, v in zip(decider.classes, proba)})
    if mask is not None:
        values["mask_fraction"] = f"{float(np.mean(mask >= 0.5)):.4f}"
    return values


def predict_rows(
    model,
    paths,
    *,
    overlays=None,
    gradcam=True,
    threshold=None,
    positive_label=None,
    modality="auto",
    batch_size=16,
    target_layer=None,
    overlay_size=512,
    numbers=None,
):
    """Predict scan files batch by batch: one CSV row per file, optionally with an overlay image.

    Each scan is read once, preprocessed and reduced to a thumbnail for its overlay, so
    memory stays flat in the number of scans and in their size (a full-size image is held
    only while it is being read). The model runs once per batch: one forward pass gives the
    probabilities, the lung mask (``MultiTaskUNet``) and the Grad-CAM heatmap of torch
    image models; one graph run for an :class:`~skcovid.export.OnnxClassifier`; other
    classifiers (multi-modal pipelines) get the batch's paths through ``predict_proba``.

    Parameters
    ----------
    model : fitted classifier
        A skcovid image estimator (``ImageClassifier``, ``MultiTaskUNet``,
        ``DRENetClassifier``), an :class:`~skcovid.export.OnnxClassifier`, or any fitted
        classifier with ``predict_proba`` and ``classes_`` that takes a scan table.
    paths : sequence of path-like
        The scan files. A file that cannot be read gets a row with its error (a missing
        file too); the others are not affected.
    overlays : path-like, optional
        Existing folder for the overlay PNGs (``NNNN_stem.png``: the scan's number, then its
        file name stem with characters other than letters, digits, ``.`` and ``-`` as
        ``_``); None draws none.
    gradcam : bool, default=True
        Draw the Grad-CAM heatmap of the explained class (torch image models only).
    threshold : float, optional
        Binary models: predict ``positive_label`` when its probability reaches this;
        multi-label models: the label threshold (default: the model's ``thresholds_``, else 0.5).
        None predicts the most probable class.
    positive_label : str, optional
        The positive class for ``threshold`` (default: ``"COVID"`` if a class, else the last).
    modality : {"auto", "xray", "ct"}, default="auto"
        The scans' modality; "auto": "ct" for paths in a folder named CT* (``CT``,
        ``ct_...``, ``ct-...``), else "xray".
    batch_size : int, default=16
        Scans per model run; each batch's rows are yielded together.
    target_layer : str, optional
        Grad-CAM layer name (default: see :class:`GradCAM`).
    overlay_size : int, default=512
        The longer side, in pixels, at which a scan is kept for its overlay.
    numbers : sequence of int, optional
        The number of each scan in its overlay's name (default ``0, 1, ...``): a run
        resumed on the remaining scans, or a partition of them, keeps the names of the
        whole run.

    Returns
    -------
    iterator of list of dict
        One list of rows per batch, in the order of ``paths``. Every row has the keys
        ``path`` (``str(path)``), ``predicted``, ``proba_<class>`` (6 decimals),
        ``mask_fraction`` (models with a mask only: the fraction of pixels at or above
        0.5), ``overlay`` and ``error`` (empty unless the scan failed; the other values
        are then empty).

    Raises
    ------
    ValueError
        For an option out of range, before any scan is read.

    See Also
    --------
    PredictionWriter : Append the rows to a CSV file as each batch finishes.

    Examples
    --------
    >>> from skcovid.explain import PredictionWriter, predict_rows
    >>> with PredictionWriter("out/predictions.csv", resume=True) as writer:  # doctest: +SKIP
    ...     todo = [p for p in paths if str(p) not in writer.done]
    ...     for rows in predict_rows(model, todo, overlays="out"):
    ...         writer.write(rows)
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if int(overlay_size) != overlay_size or overlay_size < 16:
        raise ValueError(f"overlay_size must be an integer of at least 16 pixels; got {overlay_size!r}.")
    if modality not in ("auto", "xray", "ct"):
        raise ValueError(f"modality must be 'auto', 'xray' or 'ct'; got {modality!r}.")
    paths = list(paths)
    numbers = list(range(len(paths))) if numbers is None else [int(n) for n in numbers]
    if len(numbers) != len(paths):
        raise ValueError(f"numbers has {len(numbers)} values for {len(paths)} paths; give one per path.")
    decider = _Decider(
        model.classes_, is_multilabel(model), threshold, positive_label, getattr(model, "thresholds_", None)
    )
    engine = _Engine(model, decider, gradcam, target_layer)
    return _rows(engine, decider, paths, numbers, overlays, modality, int(batch_size), int(overlay_size))


class PredictionWriter:
    """Append prediction rows to a CSV file, flushed batch by batch; failed rows last.

    Rows of predicted scans are written and flushed at each :meth:`write`, so an
    interrupted run keeps them. Rows with an ``error`` are kept (a path and a message
    each) and written last, when the writer is closed after a run that finished; a run
    that stopped early leaves them out, and its resumed run tries those scans again. The
    CSV of a resumed run is therefore the CSV of a run that was never interrupted.

    Any file name is written safely: the csv module quotes fields with commas, quotes or
    line breaks, and bytes that are not valid UTF-8 (possible in file names on Linux) are
    written back unchanged (Python's ``surrogateescape``). Read the file with
    ``open(path, newline="", encoding="utf-8", errors="surrogateescape")`` (pandas:
    ``pd.read_csv(path, encoding_errors="surrogateescape", dtype={"path": object})``) to
    get each path back exactly.

    Parameters
    ----------
    path : path-like
        The CSV file (its folder must exist).
    resume : bool, default=False
        Keep the rows already in ``path`` (their paths are in ``done``) and append
        after them; a row cut short by a crash is dropped (it is written again). False
        starts a new file.

    Attributes
    ----------
    done : set of str
        The ``path`` of every row already in the file when it was opened.
    written : int
        Rows written since (failed rows count once they are written).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skcovid.explain import PredictionWriter
    >>> path = Path(tempfile.mkdtemp()) / "predictions.csv"
    >>> with PredictionWriter(path) as writer:
    ...     writer.write([{"path": "a,\\nb.png", "predicted": "COVID", "error": ""}])
    >>> with PredictionWriter(path, resume=True) as writer:
    ...     writer.done
    {'a,\\nb.png'}
    """

    _OPEN = {"newline": "", "encoding": "utf-8", "errors": "surrogateescape"}

    def __init__(self, path, *, resume=False):
        self.path = Path(path)
        self.written = 0
        self.done, self._columns, self._failed = set(), None, []
        if resume and self.path.is_file():
            with open(self.path, "r+", **self._OPEN) as handle:
                text = handle.read()
                if text and not text.endswith("\n"):  # a row cut short by a crash
                    handle.seek(0)
                    handle.truncate(len(text[: text.rfind("\n") + 1].encode("utf-8", "surrogateescape")))
            with open(self.path, **self._OPEN) as handle:
                reader = csv.DictReader(handle)
                self.done = {row["path"] for row in reader if row.get("path") is not None}
                self._columns = reader.fieldnames
        self._handle = open(self.path, "a" if self._columns else "w", **self._OPEN)  # noqa: SIM115

    def write(self, rows):
        """Append the rows of predicted scans and flush them; keep failed rows for the end.

        Parameters
        ----------
        rows : iterable of dict
            Rows with the same keys (those of :func:`predict_rows`); a row whose
            ``error`` is not empty is written by :meth:`close`.

        Raises
        ------
        ValueError
            When the rows' columns differ from those of the file being resumed (another
            model or other options): write to another file or start a new one.
        """
        rows = list(rows)
        self._failed += [row for row in rows if row.get("error")]
        self._append([row for row in rows if not row.get("error")])

    def _append(self, rows):
        if not rows:
            return
        columns = list(rows[0])
        if self._columns is None:
            self._columns = columns
            csv.writer(self._handle).writerow(columns)
        elif columns != list(self._columns):
            raise ValueError(
                f"{str(self.path)!r} has the columns {list(self._columns)}, these rows {columns}: it was "
                "written by another model or with other options; resume with the same ones, or write to "
                "another folder."
            )
        csv.DictWriter(self._handle, fieldnames=columns).writerows(rows)
        self._handle.flush()
        self.written += len(rows)

    def close(self, *, complete=True):
        """Write the failed rows (unless ``complete`` is False: the run stopped early) and close."""
        try:
            if complete:
                self._append(self._failed)
        finally:
            self._failed = []
            self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(complete=exc_type is None)
