"""``skcovid demo``: exit codes, written files and the content of report.json."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from skcovid import _demo
from skcovid.cli import main
from skcovid.persistence import load, read_manifest

from .multimodal._helpers import one_torch_thread


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return main(["demo", "--quick", "--out", str(out), "--no-progress"]), out


def test_demo_succeeds_and_writes_its_files(demo_run):
    code, out = demo_run
    assert code == 0
    for name in ("model.skcovid", "report.json", "confusion_matrices.png", "roc.png"):
        assert (out / name).stat().st_size > 0, name
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no partial files


def test_demo_report_is_sane(demo_run):
    _, out = demo_run
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["n_samples"] == 60 and report["settings"]["data"] == "synthetic"
    assert report["data"]["n_train"] + report["data"]["n_test"] == 60
    models = {row["model"] for row in report["metrics"]}
    assert models == {"mtl_adversarial", "mtl", "single_modality", "logistic_regression"}
    groups = {row["group"] for row in report["metrics"]}
    assert {"all", "xray", "ct"} <= groups
    accuracy = [row for row in report["metrics"] if row["metric"] == "accuracy" and row["group"] == "all"]
    assert len(accuracy) == 4 and all(0 <= row["value"] <= 1 for row in accuracy)
    assert all(row["ci_low"] <= row["value"] <= row["ci_high"] for row in accuracy)
    tests = report["paired_tests"]
    assert {row["model_b"] for row in tests} == models - {"mtl_adversarial"}
    assert all(0 <= row["mcnemar_pvalue"] <= 1 for row in tests)
    assert report["patients"]["n_patients"] > 0
    assert set(report["shared_feature_modality_leakage"]) == {"mtl_adversarial", "mtl"}


def test_saved_model_predicts_scan_tables(demo_run):
    from skcovid.datasets import make_synthetic_scans

    _, out = demo_run
    with zipfile.ZipFile(out / "model.skcovid") as archive:  # no pickle in it
        assert sorted(archive.namelist()) == ["manifest.json", "skeleton.skops", "weights.safetensors"]
    manifest = read_manifest(out / "model.skcovid")
    assert manifest["fit_interrupted"] is False and manifest["estimator"].endswith(":Pipeline")
    model = load(out / "model.skcovid")
    scans = make_synthetic_scans(6, image_size=32, random_state=5).data
    proba = model.predict_proba(scans)
    assert proba.shape == (6, 2) and np.allclose(proba.sum(axis=1), 1)
    assert model.classes_.tolist() == ["COVID", "Non_COVID"]
    report = json.loads((out / "report.json").read_text())
    assert report["files"][:2] == ["model.skcovid", "report.json"]


def test_skcovid_predict_reads_the_demo_model(demo_run, tmp_path):
    from PIL import Image

    from skcovid.datasets import make_synthetic_scans

    _, out = demo_run
    scans = make_synthetic_scans(4, image_size=32, random_state=5).data
    paths = [tmp_path / f"scan{i}.png" for i in range(4)]
    for path, image in zip(paths, scans["image"]):
        Image.fromarray(image).save(path)
    args = ["predict", "--model", out / "model.skcovid", "--images", *paths, "--out", tmp_path / "pred"]
    assert main([str(a) for a in args]) == 0
    table = scans.assign(image=[str(p) for p in paths], modality="xray")  # what predict infers here
    expected = load(out / "model.skcovid").predict(table)
    rows = (tmp_path / "pred" / "predictions.csv").read_text().splitlines()[1:]
    assert [row.split(",")[1] for row in rows] == list(expected)


def test_demo_on_a_folder(synthetic_folder, tmp_path):
    folder, bunch = synthetic_folder
    code = main(["demo", "--data", str(folder), "--quick", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["settings"]["data"] == str(folder)
    assert report["data"]["n_test"] == int((bunch.data["split"] == "test").sum())


def test_bad_data_folder_is_a_clear_error(tmp_path, capsys):
    code = main(["demo", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "cannot use the data" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["demo", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    missing_weights = str(tmp_path / "missing.pth")
    args = ["demo", "--quick", "--embedder", "pretrained", "--weights", missing_weights]
    assert main([*args, "--out", str(tmp_path / "out")]) == 1
    assert "missing.pth" in capsys.readouterr().err


def test_default_settings_load_the_synthetic_scans():
    """``skcovid demo`` with no option: the settings and data it starts from (no fitting)."""
    import argparse

    from skcovid._demo import SYNTHETIC_IMAGE_SIZE, _load, _settings, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    settings = _settings(parser.parse_args([]))
    assert settings["embedder"] == "texture" and settings["image_size"] is None
    X_train, y_train, X_test, _ = _load(parser.parse_args([]), settings)
    assert len(X_train) + len(X_test) == settings["n_samples"]
    assert X_train["image"].iloc[0].shape == (SYNTHETIC_IMAGE_SIZE, SYNTHETIC_IMAGE_SIZE)
    assert set(y_train) == {"COVID", "Non_COVID"}


def _fail(exception):
    def raise_it(*args, **kwargs):
        raise exception

    return raise_it


def test_ctrl_c_exits_130_and_writes_no_model_or_report(tmp_path, monkeypatch, capsys):
    import skcovid.multimodal._experiment as experiment

    monkeypatch.setattr(experiment, "fit_models", _fail(KeyboardInterrupt))
    assert main(["demo", "--quick", "--out", str(tmp_path), "--no-progress"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "model.skcovid").exists() and not (tmp_path / "report.json").exists()


def test_a_fit_that_skorch_stopped_early_counts_as_interrupted(tmp_path, monkeypatch, capsys):
    """skorch swallows Ctrl-C and returns from fit; the estimator says so in fit_interrupted_."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    import skcovid.multimodal._experiment as experiment

    def fit_models(models, *args, **kwargs):
        stopped = make_pipeline(LogisticRegression())
        stopped[-1].fit_interrupted_ = True
        return {name: {"estimator": stopped if name == "mtl" else make_pipeline(LogisticRegression())}
                for name in models}

    monkeypatch.setattr(experiment, "fit_models", fit_models)
    assert main(["demo", "--quick", "--out", str(tmp_path), "--no-progress"]) == 130
    assert "the training of mtl was interrupted" in capsys.readouterr().err
    assert not (tmp_path / "model.skcovid").exists() and not (tmp_path / "report.json").exists()


@pytest.mark.parametrize("when", ["dump", "report rename"])
def test_interrupted_while_saving_leaves_neither_file(when, tmp_path, monkeypatch):
    import os

    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    if when == "dump":
        monkeypatch.setattr("skcovid.persistence.dump", _fail(KeyboardInterrupt))
    else:
        replace = os.replace

        def replace_but_the_report(source, target):
            if str(target).endswith("report.json"):
                raise KeyboardInterrupt  # the model is in place already
            replace(source, target)

        monkeypatch.setattr(os, "replace", replace_but_the_report)
    with pytest.raises(KeyboardInterrupt):
        _demo._save_together(tmp_path, model, "{}")
    assert list(tmp_path.iterdir()) == []
