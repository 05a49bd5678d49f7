"""``skcovid export``: the ONNX file gives the saved model's probabilities; pipelines get a clear error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skcovid.cli import main
from skcovid.persistence import dump, load

from ._cli_helpers import split_rows, write_scans
from .multimodal._helpers import one_torch_thread

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """A folder of scans and the image model ``skcovid train --model image`` saved from it."""
    folder = tmp_path_factory.mktemp("scans")
    write_scans(folder)
    out = tmp_path_factory.mktemp("cnn")
    args = [
        "train",
        folder,
        "--model",
        "image",
        "--image-size",
        "32",
        "--max-epochs",
        "1",
        "--out",
        out,
        "--no-progress",
    ]
    assert main(args) == 0
    return folder, out / "model.skcovid"


def test_onnx_probabilities_equal_the_models(cnn, tmp_path, capsys):
    from skcovid.export import OnnxClassifier

    folder, model = cnn
    assert main(["export", model, "--out", tmp_path / "cnn.onnx"]) == 0
    assert "its probabilities match the model's" in capsys.readouterr().out
    assert json.loads((tmp_path / "cnn.json").read_text())["classes"] == ["COVID", "Non_COVID"]
    X, _ = split_rows(folder, "test")
    expected = load(model).predict_proba(X)
    np.testing.assert_allclose(
        OnnxClassifier(tmp_path / "cnn.onnx").fit().predict_proba(X), expected, atol=1e-5
    )


def test_evaluate_reads_the_onnx_export(cnn, tmp_path):
    import pandas as pd

    folder, model = cnn
    assert main(["export", model, "--out", tmp_path / "cnn.onnx"]) == 0
    common = ["--n-bootstraps", "50", "--no-progress"]
    assert main(["evaluate", tmp_path / "cnn.onnx", folder, "--out", tmp_path / "onnx", *common]) == 0
    assert main(["evaluate", model, folder, "--out", tmp_path / "torch", *common]) == 0
    onnx, torch = (pd.read_csv(tmp_path / kind / "predictions.csv") for kind in ("onnx", "torch"))
    np.testing.assert_allclose(onnx["proba_COVID"], torch["proba_COVID"], atol=1e-5)


def test_a_pipeline_names_what_can_be_exported(cnn, tmp_path, capsys):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    folder, model = cnn
    network = load(model)
    dump(Pipeline([("identity", FunctionTransformer()), ("net", network)]), tmp_path / "pipe.skcovid")
    assert main(["export", tmp_path / "pipe.skcovid", "--out", tmp_path / "pipe.onnx"]) == 2
    err = capsys.readouterr().err
    assert "holds a Pipeline, which has no single network to export" in err
    assert "--part can export on their own" in err and ": net." in err
    assert main(["export", tmp_path / "pipe.skcovid", "--part", "head", "--out", tmp_path / "pipe.onnx"]) == 2
    assert "--part 'head' is not an exportable network" in capsys.readouterr().err
    assert main(["export", tmp_path / "pipe.skcovid", "--part", "net", "--out", tmp_path / "net.onnx"]) == 0
    assert (tmp_path / "net.onnx").is_file()


def test_bad_inputs(cnn, tmp_path, capsys):
    _, model = cnn
    assert main(["export", model, "--out", tmp_path / "model.zip"]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    assert main(["export", tmp_path / "none.skcovid", "--out", tmp_path / "m.onnx"]) == 2
    assert "none.skcovid' does not exist" in capsys.readouterr().err
    (tmp_path / "model.joblib").write_bytes(b"\x80\x04not a real pickle")
    assert main(["export", tmp_path / "model.joblib", "--out", tmp_path / "m.onnx"]) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
