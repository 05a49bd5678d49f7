"""ONNX export of skcovid's image estimators and an ONNX Runtime-backed predictor.

``onnx`` and ``onnxruntime`` are optional (``pip install 'skcovid[onnx]'``) and imported on
use; :class:`OnnxClassifier` needs neither torch nor onnx, only onnxruntime.
"""

from ._onnx_classifier import OnnxClassifier
from ._onnx_export import export_onnx

__all__ = ["OnnxClassifier", "export_onnx"]
