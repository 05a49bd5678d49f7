"""skcovid.persistence: pickle-free round trips of every estimator kind, hashes, versions, trust."""

from __future__ import annotations

import json
import os
import runpy
import zipfile
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from skcovid.persistence import (
    ModelVersionWarning,
    dump,
    is_fit_interrupted,
    is_model_file,
    load,
    read_manifest,
)

TINY = SimpleNamespace(**runpy.run_path(str(Path(__file__).parents[1] / "explain" / "_tiny_estimators.py")))
SMALL_MTL = dict(
    image_size=32, task_hidden=(8,), shared_hidden=(8,), head_hidden=(4,), max_epochs=2, cv=2, random_state=0
)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with TINY.one_thread():  # two OpenMP threads on a busy 2-core machine crawl
        yield


@pytest.fixture(scope="module")
def scans():
    from skcovid.datasets import make_synthetic_scans

    data = make_synthetic_scans(24, image_size=32, random_state=0)
    return data.data, data.target.to_numpy()


@pytest.fixture(scope="module")
def classifier():
    return TINY.fit_tiny("ImageClassifier")


def round_trip(estimator, path, **kwargs):
    return load(dump(estimator, path, **kwargs))


def outputs(estimator, X):
    """Every output an estimator kind has, as numpy arrays."""
    names = ("predict_proba", "predict", "decision_function", "transform", "predict_mask_proba")
    return {name: np.asarray(getattr(estimator, name)(X)) for name in names if hasattr(estimator, name)}


def assert_same_outputs(estimator, loaded, X):
    expected, got = outputs(estimator, X), outputs(loaded, X)
    assert list(got) == list(expected) and expected
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)  # bit-identical


@pytest.mark.parametrize("kind", TINY.KINDS)
def test_image_estimators_round_trip_bit_identical(kind, tmp_path):
    X, y = TINY.tiny_scans()
    estimator = TINY.fit_tiny(kind, X, y)
    loaded = round_trip(estimator, tmp_path / "model.skcovid")
    assert type(loaded) is type(estimator) and loaded is not estimator
    assert_same_outputs(estimator, loaded, X)
    assert loaded.get_params() == estimator.get_params()
    assert loaded.module_ is loaded.net_.module_  # one module, as before saving
    module_params = {id(p) for p in loaded.module_.parameters()}
    optimizer_params = {id(p) for g in loaded.net_.optimizer_.param_groups for p in g["params"]}
    assert optimizer_params <= module_params and optimizer_params
    assert not zipfile.ZipFile(tmp_path / "model.skcovid").namelist().count("data.pkl")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: __import__("skcovid.multimodal").multimodal.make_mtl_pipeline(**SMALL_MTL),
            id="make_mtl_pipeline",
        ),
        pytest.param(
            lambda: __import__("skcovid.multimodal").multimodal.make_mtl_pipeline(
                adversarial="minimax", **SMALL_MTL
            ),
            id="make_mtl_pipeline-minimax",
        ),
        pytest.param(
            lambda: __import__("skcovid.multimodal").multimodal.MultiModalMTLClassifier(**SMALL_MTL),
            id="MultiModalMTLClassifier",
        ),
        pytest.param(
            lambda: __import__("skcovid.embedders").embedders.PretrainedEmbedder(image_size=32),
            id="PretrainedEmbedder",
        ),
        pytest.param(
            lambda: __import__("skcovid.embedders").embedders.TextureEmbedder(image_size=32),
            id="TextureEmbedder",
        ),
    ],
)
def test_pipelines_and_embedders_round_trip_bit_identical(make, scans, tmp_path):
    X, y = scans
    estimator = make().fit(X, y)
    loaded = round_trip(estimator, tmp_path / "model.skcovid")
    assert_same_outputs(estimator, loaded, X)
    assert str(clone(loaded).get_params()) == str(clone(estimator).get_params())


def _modality_table():
    """A small tabular data set with modality and patient columns (the multi-modal steps' input)."""
    import pandas as pd

    rng = np.random.RandomState(0)
    y = np.repeat(["COVID", "Non_COVID"], 40)
    X = pd.DataFrame(
        {
            "signal": (y == "COVID") + rng.randn(80),
            "noise": rng.randn(80),
            "modality": np.tile(["xray", "ct"], 40),
            "patient": [f"p{i // 2}" for i in range(80)],
        }
    )
    return X, y


def _threshold_cv():
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline

    from skcovid.metrics import PerModalityThresholdClassifierCV

    model = make_pipeline(make_column_transformer(("passthrough", ["signal", "noise"])), LogisticRegression())
    return PerModalityThresholdClassifierCV(model, n_bootstraps=10, cv=3, random_state=0)


def _resampled_router():
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.pipeline import make_pipeline

    from skcovid.multimodal import ClassifierHead, ModalityRouter, PerModalitySampler, TaskSpecificExtractor

    router = ModalityRouter({"xray": TaskSpecificExtractor(), "ct": TaskSpecificExtractor()})
    return make_pipeline(
        PerModalitySampler(RandomOverSampler(random_state=0)), router, ClassifierHead(random_state=0)
    )


def _parallel_post_fit():
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline

    from skcovid.distributed import ParallelPostFit

    return ParallelPostFit(
        make_pipeline(make_column_transformer(("passthrough", ["signal"])), LogisticRegression())
    )


@pytest.mark.parametrize(
    "make",
    [_threshold_cv, _resampled_router, _parallel_post_fit],
    ids=[
        "PerModalityThresholdClassifierCV",
        "PerModalitySampler+ModalityRouter+ClassifierHead",
        "ParallelPostFit",
    ],
)
def test_tabular_estimators_round_trip_bit_identical(make, tmp_path):
    X, y = _modality_table()
    with TINY.one_thread():
        estimator = make().fit(X, y)
    assert_same_outputs(estimator, round_trip(estimator, tmp_path / "model.skcovid"), X)


def test_path_parameters_round_trip(scans, tmp_path):
    """A checkpoint or cache folder given as a pathlib.Path loads back (a Path builds no file)."""
    from skcovid.embedders import EmbeddingCache, PretrainedEmbedder

    X, y = scans
    for cache in (tmp_path / "cache", EmbeddingCache(tmp_path / "cache", key="content")):
        estimator = PretrainedEmbedder(image_size=32, random_state=0, cache=cache).fit(X, y)
        loaded = round_trip(estimator, tmp_path / "model.skcovid")
        assert loaded.cache == cache
        assert_same_outputs(estimator, loaded, X)


def test_onnx_classifier_round_trips(classifier, tmp_path):
    pytest.importorskip("onnxruntime")
    from skcovid.export import OnnxClassifier, export_onnx

    X, _ = TINY.tiny_scans()
    estimator = OnnxClassifier(export_onnx(classifier, tmp_path / "model.onnx")).fit()
    loaded = round_trip(estimator, tmp_path / "model.skcovid")
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))


def test_manifest_records_versions_classes_parameters_and_hashes(classifier, tmp_path):
    from importlib.metadata import version

    import skcovid

    path = dump(classifier, tmp_path / "model.skcovid")
    assert is_model_file(path) and not is_model_file(__file__)
    manifest = read_manifest(path)
    assert manifest["versions"]["skcovid"] == skcovid.__version__
    for name in ("torch", "torchvision", "skorch", "scikit-learn", "skops", "safetensors"):
        assert manifest["versions"][name] == version(name), name
    assert manifest["estimator"] == "skcovid.nets._classifier:ImageClassifier"
    assert manifest["classes"] == ["COVID", "Non_COVID"]
    assert manifest["parameters"]["image_size"] == 32 and manifest["parameters"]["head_hidden"] == [8]
    assert manifest["fit_interrupted"] is False
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["manifest.json", "skeleton.skops", "weights.safetensors"]
        import hashlib

        for name, digest in manifest["sha256"].items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    assert manifest["content_sha256"] == content_sha256(manifest)  # the recipe dump documents
    assert not list(tmp_path.glob("*.partial"))


def test_weights_are_safetensors_of_the_module(classifier, tmp_path):
    from safetensors.torch import load as load_safetensors

    path = dump(classifier, tmp_path / "model.skcovid")
    with zipfile.ZipFile(path) as archive:
        tensors = load_safetensors(archive.read("weights.safetensors"))
    generators = [key for key in tensors if key.endswith("generator.state")]  # the loader's shuffling
    assert len(generators) == 1
    stored = sorted(t.numel() for key, t in tensors.items() if key not in generators)
    expected = sorted(t.numel() for t in classifier.module_.state_dict().values())
    assert stored == expected  # the module's weights and buffers once each, nothing else


def test_optimizer_state_only_when_asked(tmp_path):
    from skcovid.nets import ImageClassifier

    X, y = TINY.tiny_scans()
    estimator = TINY.fit_tiny("ImageClassifier", X, y)
    # BaseImageNet clears the moment estimates after fit; give the optimizer some to keep or drop
    estimator.net_.partial_fit(estimator._dataset(X, estimator._encode_targets(y)), y=None)
    assert estimator.net_.optimizer_.state
    plain = round_trip(estimator, tmp_path / "plain.skcovid")
    full = round_trip(estimator, tmp_path / "full.skcovid", include_optimizer=True)
    assert not plain.net_.optimizer_.state
    assert isinstance(plain, ImageClassifier)
    assert read_manifest(tmp_path / "full.skcovid")["includes"]["optimizer_state"] is True
    for param in estimator.module_.parameters():
        if param in estimator.net_.optimizer_.state:
            expected = estimator.net_.optimizer_.state[param]["exp_avg"]
            break
    saved = [s["exp_avg"] for s in full.net_.optimizer_.state.values()]
    assert any(torch.equal(s, expected) for s in saved)
    assert (tmp_path / "full.skcovid").stat().st_size > (tmp_path / "plain.skcovid").stat().st_size


def test_training_data_left_out_unless_asked(tmp_path):
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    model.rows_ = torch.utils.data.TensorDataset(torch.arange(6.0))
    loaded = round_trip(model, tmp_path / "lean.skcovid")
    assert loaded.rows_ is None
    assert read_manifest(tmp_path / "lean.skcovid")["left_out"] == ["estimator.rows_"]
    kept = round_trip(model, tmp_path / "full.skcovid", include_training_data=True)
    assert torch.equal(kept.rows_.tensors[0], torch.arange(6.0))


def content_sha256(manifest):
    """The content hash as :func:`dump` documents it: SHA-256 of the sorted, compact JSON."""
    import hashlib

    content = {key: value for key, value in manifest.items() if key != "content_sha256"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def rewrite(path, *, manifest=None, members=None, rehash=False):
    """Rewrite a saved model with some members or manifest fields replaced.

    ``rehash``: also recompute the content hash, as a file genuinely saved that way (or by
    someone who knows the format) would have it.
    """
    with zipfile.ZipFile(path) as archive:
        content = {name: archive.read(name) for name in archive.namelist()}
    new = {**json.loads(content["manifest.json"]), **(manifest or {})}
    if rehash:
        new["content_sha256"] = content_sha256(new)
    content.update(members or {})
    content["manifest.json"] = json.dumps(new).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in content.items():
            archive.writestr(name, data)


def test_changed_weights_fail_the_hash_check(classifier, tmp_path):
    path = dump(classifier, tmp_path / "model.skcovid")
    with zipfile.ZipFile(path) as archive:
        weights = bytearray(archive.read("weights.safetensors"))
    weights[-1] ^= 0xFF  # one bit of one weight
    rewrite(path, members={"weights.safetensors": bytes(weights)})
    with pytest.raises(ValueError, match="weights.safetensors does not match the SHA-256"):
        load(path)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param({"fit_interrupted": True}, id="fit_interrupted"),
        pytest.param({"parameters": {"image_size": 224}}, id="parameters"),
        pytest.param({"versions": {}}, id="versions"),
        pytest.param({"sha256": None}, id="members-hashes"),
        pytest.param({"content_sha256": "0" * 64}, id="content_sha256"),
    ],
)
def test_an_edited_manifest_fails_the_content_hash(edit, classifier, tmp_path):
    path = dump(classifier, tmp_path / "model.skcovid")
    assert load(path).classes_.tolist() == ["COVID", "Non_COVID"]  # untouched, it loads
    rewrite(path, manifest=edit)
    for read in (load, read_manifest):
        with pytest.raises(
            ValueError,
            match=r"model.skcovid': its manifest.json does not match the "
            r"content_sha256.*edited.*persistence.dump",
        ) as error:
            read(path)
        assert str(tmp_path) in str(error.value)


def test_a_file_of_the_first_format_loads_with_a_warning(classifier, tmp_path):
    """Format 1 recorded no content hash: such a file still loads (members checked), with a warning."""
    path = dump(classifier, tmp_path / "model.skcovid")
    with zipfile.ZipFile(path) as archive:
        content = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(content["manifest.json"])
    del manifest["content_sha256"]
    manifest["format_version"] = 1
    content["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in content.items():
            archive.writestr(name, data)
    with pytest.warns(ModelVersionWarning, match="older skcovid.*content_sha256.*Save the model again"):
        loaded = load(path)
    X, _ = TINY.tiny_scans()
    assert_same_outputs(classifier, loaded, X)


def _flip_middle_byte(data):
    data = bytearray(data)
    data[len(data) // 2] ^= 0xFF  # inside the compressed weights, the largest member
    return bytes(data)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated-half"),
        pytest.param(lambda data: data[:-1], id="truncated-last-byte"),
        pytest.param(lambda data: data[:100], id="truncated-in-manifest"),
        pytest.param(_flip_middle_byte, id="flipped-byte"),
    ],
)
def test_a_truncated_or_damaged_file_names_itself_and_the_fix(damage, classifier, tmp_path):
    path = dump(classifier, tmp_path / "model.skcovid")
    path.write_bytes(damage(path.read_bytes()))
    assert is_model_file(path)  # so that skcovid predict loads it (and reports it), never as a pickle
    with pytest.raises(
        ValueError,
        match=r"model.skcovid' is a skcovid model file, but .*truncated or "
        r"damaged.*Copy it again.*persistence.dump",
    ):
        load(path)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        pytest.param([1, 2], r"is not a skcovid-model file \(its manifest.json says 'list'\)", id="list"),
        pytest.param(
            {"format": "skcovid-model", "format_version": "1"},
            r"format_version is '1', not a number.*truncated or damaged",
            id="version-text",
        ),
        pytest.param(
            {"format": "skcovid-model", "format_version": 9},
            r"format version 9, newer.*upgrade skcovid",
            id="newer",
        ),
    ],
)
def test_a_malformed_manifest_names_the_file(manifest, message, tmp_path):
    path = tmp_path / "model.skcovid"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    assert not is_model_file(path) or isinstance(manifest, dict)
    with pytest.raises(ValueError, match=message) as error:
        load(path)
    assert str(path) in str(error.value)


def test_version_mismatch_warns_naming_both_versions(classifier, tmp_path):
    from importlib.metadata import version

    path = dump(classifier, tmp_path / "model.skcovid")
    versions = {**read_manifest(path)["versions"], "torch": "1.13.0", "skorch": "0.9.0"}
    rewrite(path, manifest={"versions": versions}, rehash=True)  # as if saved with those versions
    with pytest.warns(ModelVersionWarning) as record:
        loaded = load(path)
    message = str(record[0].message)
    assert f"torch 1.13.0 (installed: {version('torch')})" in message
    assert "skorch 0.9.0" in message and "scikit-learn" not in message
    np.testing.assert_array_equal(
        loaded.predict_proba(TINY.tiny_scans()[0]), classifier.predict_proba(TINY.tiny_scans()[0])
    )


def test_edited_classes_in_the_manifest_are_refused(classifier, tmp_path):
    path = dump(classifier, tmp_path / "model.skcovid")
    rewrite(path, manifest={"classes": ["Non_COVID", "COVID"]}, rehash=True)  # hash made to match
    with pytest.raises(ValueError, match="manifest was edited"):
        load(path)


def craft(path, payload):
    """A file in the format of ``dump`` whose skeleton is ``payload`` persisted by skops."""
    import hashlib

    import skops.io

    dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path)
    skeleton = skops.io.dumps(payload)
    digest = {"skeleton.skops": hashlib.sha256(skeleton).hexdigest()}
    with zipfile.ZipFile(path) as archive:
        digest["weights.safetensors"] = hashlib.sha256(archive.read("weights.safetensors")).hexdigest()
    rewrite(path, manifest={"sha256": digest}, members={"skeleton.skops": skeleton}, rehash=True)


def test_a_file_naming_a_shell_function_is_refused(tmp_path):
    path = tmp_path / "crafted.skcovid"
    craft(path, {"sink": partial(os.system, f"touch {tmp_path / 'ran'}")})
    with pytest.raises(ValueError, match=r"does not trust: .*system .*trusted=\[\.\.\.\]"):
        load(path)
    assert not (tmp_path / "ran").exists()


def test_a_skorch_net_in_the_skops_skeleton_is_refused(classifier, tmp_path):
    """skops would rebuild the net with skorch's __setstate__, which unpickles its modules."""
    path = tmp_path / "crafted.skcovid"
    craft(path, classifier.net_)
    with pytest.raises(ValueError, match="would unpickle its modules"):
        load(path)


def test_extra_trusted_names(tmp_path):
    path = tmp_path / "crafted.skcovid"
    craft(path, {"f": json.dumps})
    with pytest.raises(ValueError, match="json"):
        load(path)
    assert load(path, trusted=["json.dumps"])["f"] is json.dumps


def test_not_a_model_file(tmp_path):
    path = tmp_path / "model.joblib"
    path.write_bytes(b"\x80\x04K\x01.")  # a pickle
    assert not is_model_file(path)
    with pytest.raises(ValueError, match="not a model saved by skcovid.persistence.dump"):
        load(path)


def test_map_location_moves_every_tensor(classifier, tmp_path):
    loaded = load(dump(classifier, tmp_path / "model.skcovid"), map_location="cpu")
    assert {p.device.type for p in loaded.module_.parameters()} == {"cpu"}


def test_fit_interrupted_is_found_in_any_step_and_recorded(scans, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit([[0.0], [1.0]], [0, 1])
    assert not is_fit_interrupted(pipeline)
    pipeline[-1].fit_interrupted_ = False
    assert not is_fit_interrupted(pipeline)
    pipeline[-1].fit_interrupted_ = True
    assert is_fit_interrupted(pipeline)
    assert read_manifest(dump(pipeline, tmp_path / "model.skcovid"))["fit_interrupted"] is True
    net_holder = TINY.fit_tiny("MultiTaskUNet")
    net_holder.net_.fit_interrupted_ = True  # on the skorch net inside an estimator
    assert is_fit_interrupted(make_pipeline(net_holder))
