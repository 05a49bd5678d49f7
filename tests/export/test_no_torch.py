"""ONNX Runtime inference must not need torch: checked in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

import pytest

from skcovid.export import export_onnx

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

# Make torch (and onnx, skorch, torchvision) unimportable, as on a machine without them.
BLOCK = """
class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "skorch", "onnx", "onnxscript"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, _Absent())
"""

PREDICT = """
import numpy as np
from skcovid.export import OnnxClassifier
model = OnnxClassifier(sys.argv[1])
images = np.random.default_rng(0).integers(0, 255, (3, 40, 40), dtype=np.uint8)
print(model.predict_proba(images).shape, list(model.predict(images)))
print("TORCH-LOADED" if "torch" in sys.modules else "TORCH-ABSENT")
"""


def run_python(code, *args):
    result = subprocess.run([sys.executable, "-c", "import sys\n" + code, *map(str, args)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def onnx_model(classifier, tmp_path_factory):
    return export_onnx(classifier, tmp_path_factory.mktemp("no-torch") / "model.onnx")


def test_predicts_without_torch_installed(onnx_model):
    out = run_python(BLOCK + PREDICT, onnx_model)
    assert "(3, 2)" in out and "TORCH-ABSENT" in out


FOUNDATION = """
import skcovid.preprocessing
print("PREPROCESSING-IMPORTS-TORCH" if "torch" in sys.modules else "")
"""


def test_does_not_import_torch_when_installed(onnx_model):
    out = run_python(FOUNDATION + PREDICT, onnx_model)
    assert "(3, 2)" in out
    assert "PREPROCESSING-IMPORTS-TORCH" not in out
    assert "TORCH-ABSENT" in out
