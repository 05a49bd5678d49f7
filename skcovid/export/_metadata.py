"""The metadata JSON written beside an exported ONNX model; lazy onnx/onnxruntime imports.

No torch import here: :class:`OnnxClassifier` uses this module at inference time.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

INSTALL_HINT = "pip install 'skcovid[onnx]'"


def onnx_error(what, package):
    """Import ``package`` (``onnx`` or ``onnxruntime``) or raise an ImportError naming the extra."""
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise ImportError(f"{what} needs the optional package {package!r}: {INSTALL_HINT}.") from exc


def metadata_path(path):
    """The JSON file that goes with ONNX model ``path`` (``model.onnx`` -> ``model.json``)."""
    return Path(path).with_suffix(".json")


def to_json(value):
    """Turn numpy scalars/arrays and tuples into JSON types (tuples become lists)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def preprocessor_from_metadata(metadata):
    """Rebuild the fitted ``ScanPreprocessor`` described by the metadata (lists -> tuples)."""
    from ..preprocessing import ScanPreprocessor

    params = {key: _tuples(value) for key, value in metadata["preprocessing"].items()}
    return ScanPreprocessor(**params).fit()


def classes_from_metadata(metadata):
    """The ``classes_`` array recorded in the metadata."""
    classes = metadata["classes"]
    dtype = metadata.get("classes_dtype", "str")
    return np.asarray(classes, dtype=object) if dtype == "str" else np.asarray(classes, dtype=dtype)
