"""The metadata JSON written beside an exported ONNX model; lazy onnx/onnxruntime imports.

No torch import here: :class:`OnnxClassifier` uses this module at inference time.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

import numpy as np

INSTALL_HINT = "pip install 'skcovid[onnx]'"
#: Version 2 ties the metadata to its graph (``graph_sha256`` here, the metadata's hash there).
FORMAT_VERSION = 2
#: The ONNX model property holding the SHA-256 of the metadata (without ``graph_sha256``).
METADATA_HASH_KEY = "skcovid_metadata_sha256"


def onnx_error(what, package):
    """Import ``package`` (``onnx`` or ``onnxruntime``) or raise an ImportError naming the extra."""
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise ImportError(f"{what} needs the optional package {package!r}: {INSTALL_HINT}.") from exc


def metadata_path(path):
    """The JSON file that goes with ONNX model ``path`` (``model.onnx`` -> ``model.json``)."""
    return Path(path).with_suffix(".json")


def file_sha256(path):
    """SHA-256 (hex) of the bytes of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def metadata_sha256(metadata):
    """SHA-256 (hex) of the metadata as canonical JSON, leaving out ``graph_sha256``."""
    content = {key: value for key, value in metadata.items() if key != "graph_sha256"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_metadata(metadata, session, path, meta_file):
    """Raise a ValueError when the metadata does not describe the graph of ``session``.

    Checked: the format version, the number of classes against the width of the
    ``probabilities`` output, the graph's SHA-256 recorded in the metadata, and the
    metadata's SHA-256 recorded in the graph.
    """
    fix = (f"Re-export the model with skcovid.export.export_onnx, or put back the {meta_file.name} that "
           f"was written with {path.name}.")
    if metadata.get("format_version", 1) < FORMAT_VERSION or "graph_sha256" not in metadata:
        raise ValueError(f"{str(meta_file)!r} does not record the SHA-256 of its graph (written by an older "
                         "skcovid), so nothing ties its classes to the graph. Re-export the model with "
                         "skcovid.export.export_onnx.")
    outputs = {output.name: output.shape for output in session.get_outputs()}
    width = outputs.get("probabilities", [None])[-1]
    if isinstance(width, int) and width != len(metadata["classes"]):
        raise ValueError(f"{str(meta_file)!r} lists {len(metadata['classes'])} classes {metadata['classes']} "
                         f"but the graph {str(path)!r} outputs {width} probabilities. {fix}")
    if file_sha256(path) != metadata["graph_sha256"]:
        raise ValueError(f"The graph {str(path)!r} is not the one {str(meta_file)!r} was written for (its "
                         f"SHA-256 differs from the metadata's graph_sha256): one of the two files was "
                         f"replaced or changed. {fix}")
    recorded = session.get_modelmeta().custom_metadata_map.get(METADATA_HASH_KEY)
    if recorded != metadata_sha256(metadata):
        raise ValueError(f"{str(meta_file)!r} was edited after export (its content no longer matches the "
                         f"hash recorded in {str(path)!r}); classes, preprocessing or thresholds in it "
                         f"cannot be trusted. {fix}")


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
