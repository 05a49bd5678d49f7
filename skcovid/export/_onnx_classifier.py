"""OnnxClassifier: predictions from an exported skcovid model with ONNX Runtime, no torch."""

from __future__ import annotations

import json
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..utils import check_scan_table
from ._metadata import (
    check_metadata,
    classes_from_metadata,
    metadata_path,
    onnx_error,
    preprocessor_from_metadata,
)


class OnnxClassifier(ClassifierMixin, BaseEstimator):
    """A predictor backed by ONNX Runtime for a model written by :func:`export_onnx`.

    It reads the metadata JSON beside the ``.onnx`` file, checks that it belongs to the
    graph (the graph's SHA-256, the metadata's SHA-256 recorded in the graph, the number
    of classes against the width of the probabilities), rebuilds the
    ``ScanPreprocessor`` (numpy/PIL only) and runs the graph with ``onnxruntime``: torch is
    not needed at inference time. Nothing is learned: the model is loaded on first use (or
    by :meth:`fit`), and it pickles without its session (reloaded on demand).

    Parameters
    ----------
    path : str or path-like
        The ``.onnx`` file; its metadata is ``path.with_suffix(".json")``.
    providers : list of str, optional
        ONNX Runtime execution providers; default ``["CPUExecutionProvider"]``.
    batch_size : int, default=32
        Images per ``session.run`` (1 when the model was exported with a static batch).
    threshold : float, array-like or None, default=None
        Multi-label models: a label is predicted when its probability reaches its threshold;
        None uses the exported estimator's ``thresholds_`` (0.5 when it had none).

    Attributes
    ----------
    classes_ : ndarray
        The class labels, from the metadata.
    metadata_ : dict
        The metadata JSON.
    preprocessor_ : ScanPreprocessor
        The preprocessing of the exported estimator.
    session_ : onnxruntime.InferenceSession

    Examples
    --------
    >>> from skcovid.export import OnnxClassifier
    >>> model = OnnxClassifier("model.onnx")  # doctest: +SKIP
    >>> model.predict_proba(X)  # doctest: +SKIP
    """

    def __init__(self, path, *, providers=None, batch_size=32, threshold=None):
        self.path = path
        self.providers = providers
        self.batch_size = batch_size
        self.threshold = threshold

    # -- loading ------------------------------------------------------------------------
    def fit(self, X=None, y=None):
        """Load the model and its metadata (nothing is learned).

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self : OnnxClassifier

        Raises
        ------
        FileNotFoundError
            When the model or its metadata is missing.
        ValueError
            When the metadata does not belong to the graph: its classes do not match the
            width of the probabilities, or either file was changed since the export.
        """
        ort = onnx_error("OnnxClassifier", "onnxruntime")
        if not isinstance(self.batch_size, Integral) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {self.batch_size!r}.")
        if self.threshold is not None and not np.all(
            (np.asarray(self.threshold) >= 0) & (np.asarray(self.threshold) <= 1)
        ):
            raise ValueError(f"threshold must be None or probabilities in [0, 1]; got {self.threshold!r}.")
        path = Path(self.path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model {str(path)!r} does not exist; write it with export_onnx.")
        meta_file = metadata_path(path)
        if not meta_file.is_file():
            raise FileNotFoundError(
                f"The metadata {str(meta_file)!r} of ONNX model {str(path)!r} is missing; export_onnx "
                "writes it beside the model (classes and preprocessing cannot be known without it)."
            )
        metadata = json.loads(meta_file.read_text())
        if metadata.get("format") != "skcovid-onnx":
            raise ValueError(
                f"{str(meta_file)!r} is not skcovid ONNX metadata (no 'format': 'skcovid-onnx')."
            )
        providers = list(self.providers) if self.providers is not None else ["CPUExecutionProvider"]
        session = ort.InferenceSession(str(path), providers=providers)
        check_metadata(metadata, session, path, meta_file)
        self._state = {
            "session_": session,
            "metadata_": metadata,
            "classes_": classes_from_metadata(metadata),
            "preprocessor_": preprocessor_from_metadata(metadata),
        }
        return self

    def _loaded(self, name):
        state = self.__dict__.get("_state")
        if state is None:
            self.fit()
            state = self._state
        return state[name]

    classes_ = property(lambda self: self._loaded("classes_"), doc="The class labels.")
    metadata_ = property(lambda self: self._loaded("metadata_"), doc="The metadata JSON.")
    preprocessor_ = property(lambda self: self._loaded("preprocessor_"), doc="The ScanPreprocessor.")
    session_ = property(lambda self: self._loaded("session_"), doc="The ONNX Runtime session.")

    @property
    def thresholds_(self):
        """Multi-label decision thresholds: ``threshold``, else the exported ones, else 0.5."""
        threshold = self.threshold
        if threshold is None:
            threshold = self.metadata_.get("thresholds")
        threshold = 0.5 if threshold is None else np.asarray(threshold, dtype=float)
        return np.broadcast_to(threshold, (len(self.classes_),))

    @property
    def multilabel_(self):
        """Whether the probabilities are independent sigmoids (multi-label)."""
        return bool(self.metadata_.get("multilabel", False))

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_state", None)
        return state

    # -- inference ----------------------------------------------------------------------
    def run_graph(self, images):
        """Run the graph once per ``batch_size`` preprocessed images; return every output.

        Parameters
        ----------
        images : ndarray of shape (n_scans, channels, H, W), float32
            Scans already preprocessed by ``preprocessor_`` (one scan:
            ``preprocessor_(image, modality)``).

        Returns
        -------
        dict of str to ndarray
            The graph's outputs by name: ``"probabilities"`` and, for a ``MultiTaskUNet``
            export, ``"mask"`` (lung probabilities, shape (n_scans, 1, H, W)).
        """
        session = self.session_
        names = [output.name for output in session.get_outputs()]
        step = self.batch_size if self.metadata_.get("dynamic_batch", True) else 1
        chunks = [
            session.run(names, {"image": images[start : start + step]})
            for start in range(0, len(images), step)
        ]
        return {name: np.concatenate([chunk[i] for chunk in chunks]) for i, name in enumerate(names)}

    def _run(self, X):
        """All outputs of the graph for ``X``, preprocessed ``batch_size`` scans at a time."""
        table = check_scan_table(X)
        parts = [
            self.run_graph(self.preprocessor_.transform(table.iloc[start : start + self.batch_size]))
            for start in range(0, max(len(table), 1), self.batch_size)  # empty: the preprocessor's error
        ]
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    def predict_proba(self, X):
        """Class probabilities (multi-label: per-label probabilities).

        Parameters
        ----------
        X : scan table, array of images, or list of paths/arrays

        Returns
        -------
        ndarray of shape (n_scans, n_classes), float32
        """
        return self._run(X)["probabilities"]

    def predict(self, X):
        """Predicted labels (multi-label: a 0/1 indicator matrix at ``thresholds_``).

        Parameters
        ----------
        X : scan table, array of images, or list of paths/arrays

        Returns
        -------
        ndarray of shape (n_scans,) or (n_scans, n_labels)
        """
        proba = self.predict_proba(X)
        if self.multilabel_:
            return (proba >= self.thresholds_).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_mask_proba(self, X):
        """Lung-mask probabilities of a multi-task UNet export, shape (n_scans, H, W)."""
        outputs = self._run(X)
        if "mask" not in outputs:
            raise AttributeError(
                f"The ONNX model {str(self.path)!r} ({self.metadata_.get('estimator')}) has no mask output; "
                "only a MultiTaskUNet export predicts masks."
            )
        return outputs["mask"][:, 0]

    def predict_mask(self, X, *, threshold=0.5):
        """Lung masks (mask probability >= ``threshold``), bool of shape (n_scans, H, W)."""
        return self.predict_mask_proba(X) >= threshold

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        return tags
