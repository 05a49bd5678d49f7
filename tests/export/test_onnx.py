"""ONNX export and the ONNX Runtime classifier: parity with torch, metadata, errors, pickling."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pytest
from sklearn.base import clone

import skcovid
from skcovid.export import OnnxClassifier, export_onnx

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

TOLERANCE = 1e-4


def assert_parity(estimator, model, X):
    np.testing.assert_allclose(model.predict_proba(X), estimator.predict_proba(X), atol=TOLERANCE, rtol=0)
    np.testing.assert_array_equal(model.predict(X), estimator.predict(X))


@pytest.mark.parametrize("kind", ["ImageClassifier", "DRENetClassifier", "FineTunedEmbedder"])
def test_probabilities_match_torch(kind, tiny, scans, tmp_path):
    estimator = tiny.fit_tiny(kind, *scans)
    path = export_onnx(estimator, tmp_path / "sub" / "model.onnx")
    assert path == tmp_path / "sub" / "model.onnx" and path.is_file()
    model = OnnxClassifier(path)
    assert_parity(estimator, model, scans[0])
    assert model.metadata_["estimator"] == kind
    np.testing.assert_array_equal(model.classes_, estimator.classes_)


def test_unet_probabilities_and_masks_match_torch(unet, scans, tmp_path):
    X = scans[0]
    model = OnnxClassifier(export_onnx(unet, tmp_path / "unet.onnx"))
    assert_parity(unet, model, X)
    assert model.metadata_["output_names"] == ["probabilities", "mask"]
    proba = model.predict_mask_proba(X)
    assert proba.shape == (len(X), 32, 32)
    np.testing.assert_allclose(proba, unet.predict_mask_proba(X), atol=TOLERANCE, rtol=0)
    clear = np.abs(proba - 0.5) > TOLERANCE  # pixels not on the threshold itself
    np.testing.assert_array_equal(model.predict_mask(X)[clear], unet.predict_mask(X)[clear])
    assert model.predict_mask(X).dtype == bool


def test_metadata_describes_model_and_preprocessing(classifier, exported_classifier):
    import onnx

    metadata = json.loads(exported_classifier.with_suffix(".json").read_text())
    assert metadata["format"] == "skcovid-onnx"
    assert metadata["skcovid_version"] == skcovid.__version__
    assert metadata["classes"] == ["COVID", "Non_COVID"]
    assert metadata["image_size"] == [32, 32] and metadata["channels"] == 3
    assert metadata["input"] == {"name": "image", "shape": ["batch", 3, 32, 32], "dtype": "float32"}
    assert metadata["normalization"]["kind"] == "imagenet"
    np.testing.assert_allclose(metadata["normalization"]["mean"], [0.485, 0.456, 0.406], rtol=1e-6)
    expected = classifier.preprocessor_.get_params()
    assert metadata["preprocessing"] == {k: v for k, v in expected.items()}
    assert metadata["output_names"] == ["probabilities"]
    assert "softmax" in metadata["outputs"]["probabilities"]
    assert metadata["multilabel"] is False
    assert metadata["opset"] == 17 and metadata["exporter"] == "torchscript"
    model = onnx.load(str(exported_classifier))
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    onnx.checker.check_model(model)


def test_static_batch_runs_one_image_at_a_time(classifier, scans, tmp_path):
    path = export_onnx(classifier, tmp_path / "static.onnx", dynamic_batch=False)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [1, 3, 32, 32]
    assert_parity(classifier, OnnxClassifier(path), scans[0].iloc[:3])


class ContractOnly:
    """The image-estimator contract and nothing else: a small CNN, its preprocessor, classes."""

    def __init__(self):
        import torch
        from torch import nn

        from skcovid.preprocessing import ScanPreprocessor

        torch.manual_seed(0)
        self.module_ = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                     nn.Linear(4, 3)).eval()
        self.preprocessor_ = ScanPreprocessor(32).fit()
        self.classes_ = np.array(["COVID", "Normal", "Pneumonia"])

    def predict_proba(self, X):
        import torch

        with torch.no_grad():
            logits = self.module_(torch.from_numpy(self.preprocessor_.transform(X)))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]


def test_dynamo_exporter_writes_opset_18(scans, tmp_path):
    estimator = ContractOnly()
    with pytest.raises(ValueError, match="opset >= 18"):
        export_onnx(estimator, tmp_path / "bad.onnx", exporter="dynamo", opset=17)
    path = export_onnx(estimator, tmp_path / "dynamo.onnx", opset=18)
    model = OnnxClassifier(path)
    assert model.metadata_["exporter"] == "dynamo" and model.metadata_["opset"] == 18
    assert_parity(estimator, model, scans[0].iloc[:5])


def test_multilabel_export_uses_sigmoids_and_thresholds(tiny, scans, tmp_path):
    X, y = scans
    labels = np.column_stack([y == "COVID", np.arange(len(y)) % 3 == 0]).astype(int)
    clf = tiny.fit_tiny("ImageClassifier", X, labels, multilabel=True, threshold=[0.4, 0.6])
    model = OnnxClassifier(export_onnx(clf, tmp_path / "multi.onnx"))
    assert model.metadata_["multilabel"] is True and model.metadata_["thresholds"] == [0.4, 0.6]
    assert "sigmoid" in model.metadata_["outputs"]["probabilities"]
    assert_parity(clf, model, X)
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(OnnxClassifier(model.path, threshold=0.5).predict(X), proba >= 0.5)


def test_joblib_round_trip_and_clone(exported_classifier, scans, tmp_path):
    X = scans[0]
    model = OnnxClassifier(exported_classifier)
    proba = model.predict_proba(X)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assert "_state" not in loaded.__dict__  # the session is not pickled, it is reloaded
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    np.testing.assert_array_equal(clone(model).predict(X), model.predict(X))


def test_errors_are_clear(classifier, exported_classifier, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        OnnxClassifier(tmp_path / "missing.onnx").predict_proba(np.zeros((1, 8, 8)))
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(exported_classifier.read_bytes())
    with pytest.raises(FileNotFoundError, match="metadata .*lonely.json"):
        OnnxClassifier(lonely).fit()
    with pytest.raises(AttributeError, match="no mask output"):
        OnnxClassifier(exported_classifier).predict_mask(np.zeros((1, 8, 8)))
    with pytest.raises(TypeError, match="fitted skcovid image estimator"):
        export_onnx(object(), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="opset"):
        export_onnx(classifier, tmp_path / "x.onnx", opset=3)
    with pytest.raises(ValueError, match="exporter"):
        export_onnx(classifier, tmp_path / "x.onnx", exporter="tflite")
    monkeypatch.setitem(__import__("sys").modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"pip install 'skcovid\[onnx\]'"):
        OnnxClassifier(exported_classifier).fit()


@pytest.mark.real_data
def test_real_scans_match_torch(classifier, exported_classifier, real_data_dir):
    import pandas as pd

    meta = pd.read_csv(real_data_dir / "metadata.csv")
    rows = pd.concat([meta[meta.modality == m].head(4) for m in ("xray", "ct")])
    X = pd.DataFrame({"image": [str(real_data_dir / p) for p in rows["path"]],
                      "modality": rows["modality"].to_numpy()})
    assert_parity(classifier, OnnxClassifier(exported_classifier), X)


def _edit_metadata(path, **changes):
    meta_file = path.with_suffix(".json")
    metadata = json.loads(meta_file.read_text())
    metadata.update(changes)
    meta_file.write_text(json.dumps(metadata, indent=2))


def _copy_export(exported, folder):
    folder.mkdir()
    for source in (exported, exported.with_suffix(".json")):
        (folder / source.name).write_bytes(source.read_bytes())
    return folder / exported.name


def test_metadata_and_graph_record_each_others_hash(exported_classifier):
    import hashlib

    import onnx

    from skcovid.export._metadata import METADATA_HASH_KEY, metadata_sha256

    metadata = json.loads(exported_classifier.with_suffix(".json").read_text())
    assert metadata["format_version"] == 2
    assert metadata["graph_sha256"] == hashlib.sha256(exported_classifier.read_bytes()).hexdigest()
    props = {p.key: p.value for p in onnx.load(str(exported_classifier)).metadata_props}
    assert props[METADATA_HASH_KEY] == metadata_sha256(metadata)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"classes": ["Non_COVID", "COVID"]}, "was edited after export"),
        ({"preprocessing": {"image_size": 64}}, "was edited after export"),
        ({"classes": ["COVID", "Non_COVID", "Pneumonia"]}, "lists 3 classes .* outputs 2 probabilities"),
        ({"format_version": 1}, "older skcovid"),
    ],
)
def test_edited_metadata_is_refused(change, message, exported_classifier, scans, tmp_path):
    path = _copy_export(exported_classifier, tmp_path / "copy")
    assert OnnxClassifier(path).predict(scans[0]).tolist()  # untouched, it loads
    _edit_metadata(path, **change)
    with pytest.raises(ValueError, match=message) as error:
        OnnxClassifier(path).fit()
    assert "copy" in str(error.value) and ("Re-export" in str(error.value))


def test_a_graph_from_another_export_is_refused(exported_classifier, tiny, scans, tmp_path):
    other = export_onnx(tiny.fit_tiny("ImageClassifier", *scans, random_state=1), tmp_path / "other.onnx")
    path = _copy_export(exported_classifier, tmp_path / "copy")
    path.write_bytes(other.read_bytes())  # same classes, another graph, the first export's JSON
    with pytest.raises(ValueError, match=r"copy/classifier.onnx' is not the one .* Re-export"):
        OnnxClassifier(path).fit()
