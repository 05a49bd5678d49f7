"""``skcovid predict``: CSV and overlays from saved and ONNX models, refused pickles, errors, exit codes."""

from __future__ import annotations

import argparse
import csv
import pickle
import runpy
from pathlib import Path
from types import SimpleNamespace

import joblib
import numpy as np
import pytest
from PIL import Image

from skcovid import _predict
from skcovid.persistence import dump

N_GOOD = 5
TINY = SimpleNamespace(**runpy.run_path(str(Path(__file__).parent / "explain" / "_tiny_estimators.py")))


@pytest.fixture(scope="module", autouse=True)
def _single_thread():
    with TINY.one_thread():  # two OpenMP threads on a busy 2-core machine crawl
        yield


@pytest.fixture(scope="module")
def unet():
    return TINY.fit_tiny("MultiTaskUNet")


@pytest.fixture(scope="module")
def workdir(unet, tmp_path_factory):
    """The model saved by skcovid.persistence (and by joblib), and PNGs (nested) with one broken file."""
    from skcovid.datasets import make_synthetic_scans

    root = tmp_path_factory.mktemp("predict")
    dump(unet, root / "unet.skcovid")
    joblib.dump(unet, root / "unet.joblib")
    images = root / "scans"
    (images / "nested").mkdir(parents=True)
    scans = make_synthetic_scans(N_GOOD, modalities=("xray",), image_size=40, random_state=3).data
    for i, image in enumerate(scans["image"]):
        Image.fromarray(image).save(images / ("nested" if i % 2 else "") / f"scan{i}.png")
    (images / "broken.png").write_bytes(b"this is not a png")
    (images / "notes.txt").write_text("ignored: not an image extension")
    return root


def read_rows(out):
    with open(out / "predictions.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def predict(*args):
    """Run ``skcovid predict ARGS`` through the sub-command module; return the exit code."""
    parser = argparse.ArgumentParser(prog="skcovid predict")
    _predict.add_arguments(parser)
    return _predict.run(parser.parse_args([str(a) for a in args]))


def test_registered_in_the_skcovid_command(workdir, tmp_path):
    pytest.importorskip("skcovid._demo", reason="skcovid.cli imports every sub-command; no _demo yet")
    from skcovid.cli import main

    files = sorted((workdir / "scans").glob("scan*.png"))[:1]
    args = ["predict", "--model", workdir / "unet.skcovid", "--images", *files, "--out", tmp_path,
            "--no-gradcam"]
    assert main([str(a) for a in args]) == 0
    assert len(read_rows(tmp_path)) == 1


def test_torch_model_writes_predictions_and_overlays(unet, workdir, capsys):
    out = workdir / "out-torch"
    assert predict("--model", workdir / "unet.skcovid", "--images", workdir / "scans", "--out", out) == 0
    captured = capsys.readouterr()
    assert "broken.png" in captured.err and "Skipped 1" in captured.err
    rows = read_rows(out)
    assert list(rows[0]) == ["path", "predicted", "proba_COVID", "proba_Non_COVID", "mask_fraction",
                             "overlay", "error"]
    good = [r for r in rows if not r["error"]]
    bad = [r for r in rows if r["error"]]
    assert len(good) == N_GOOD and [Path(r["path"]).name for r in bad] == ["broken.png"]
    paths = [r["path"] for r in good]
    proba = np.array([[float(r["proba_COVID"]), float(r["proba_Non_COVID"])] for r in good])
    np.testing.assert_allclose(proba, unet.predict_proba(paths), atol=1e-5)
    assert [r["predicted"] for r in good] == list(unet.predict(paths))
    expected_fraction = unet.predict_mask(paths).mean(axis=(1, 2))
    np.testing.assert_allclose([float(r["mask_fraction"]) for r in good], expected_fraction, atol=1e-4)
    for row in good:
        with Image.open(row["overlay"]) as overlay:
            assert overlay.size[0] > 100
    assert len(list((out / "overlays").glob("*.png"))) == N_GOOD


def test_onnx_model_without_gradcam(unet, workdir, capsys):
    from skcovid.export import export_onnx

    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = export_onnx(unet, workdir / "onnx" / "unet.onnx")
    out = workdir / "out-onnx"
    assert predict("--model", model, "--images", workdir / "scans", "--out", out) == 0
    assert "Grad-CAM is not available for ONNX" in capsys.readouterr().out
    good = [r for r in read_rows(out) if not r["error"]]
    proba = np.array([[float(r["proba_COVID"]), float(r["proba_Non_COVID"])] for r in good])
    np.testing.assert_allclose(proba, unet.predict_proba([r["path"] for r in good]), atol=1e-4)
    assert all(r["mask_fraction"] != "" for r in good)


def test_files_threshold_and_gradcam_switch(workdir):
    files = sorted((workdir / "scans").glob("scan*.png"))[:2]
    common = ["--model", workdir / "unet.skcovid", "--images", *files]
    assert predict(*common, "--out", workdir / "t0", "--threshold", "0", "--no-gradcam") == 0
    assert [r["predicted"] for r in read_rows(workdir / "t0")] == ["COVID", "COVID"]
    assert predict(*common, "--out", workdir / "t1", "--threshold", "1", "--positive-label", "Non_COVID") == 0
    assert [r["predicted"] for r in read_rows(workdir / "t1")] == ["COVID", "COVID"]
    plain = (workdir / "t0" / "overlays" / "0000_scan0.png").read_bytes()
    with_cam = (workdir / "t1" / "overlays" / "0000_scan0.png").read_bytes()
    assert plain != with_cam  # the heatmap is drawn only with Grad-CAM


@pytest.mark.parametrize(
    ("make", "extra", "code", "message"),
    [
        (None, [], 2, "does not exist"),
        (lambda p: p.write_bytes(b"garbage"), [], 2, "neither a model saved by skcovid.persistence"),
        (lambda p: p.write_bytes(b"garbage"), ["--trust-pickle"], 1, "cannot load model"),
        (lambda p: joblib.dump({"not": "a model"}, p), ["--trust-pickle"], 1, "not a fitted classifier"),
        (lambda p: dump(np.zeros(2), p), [], 1, "not a fitted classifier"),
        ("unet", ["--threshold", "2"], 2, "--threshold must be in"),
        ("unet", ["--positive-label", "Flu"], 2, "not a class"),
    ],
)
def test_errors_exit_with_a_message(make, extra, code, message, workdir, tmp_path, capsys):
    model = workdir / "unet.skcovid" if make == "unet" else tmp_path / "model.joblib"
    if callable(make):
        make(model)
    assert predict("--model", model, "--images", workdir / "scans", "--out", tmp_path / "o", *extra) == code
    assert message in capsys.readouterr().err


def test_no_images_found(workdir, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    model = workdir / "unet.skcovid"
    assert predict("--model", model, "--images", tmp_path / "empty", "--out", tmp_path) == 2
    assert "no image files" in capsys.readouterr().err
    missing = tmp_path / "nope.png"
    assert predict("--model", workdir / "unet.skcovid", "--images", missing, "--out", tmp_path) == 1
    assert "no such file" in capsys.readouterr().err


def test_labels_from_thresholds():
    multi = _predict._Decider(["A", "B", "C"], True, None, None, model_thresholds=[0.4, 0.6, 0.5])
    assert multi.label(np.array([0.45, 0.55, 0.1])) == "A"
    assert multi.label(np.array([0.1, 0.2, 0.3])) == "none"
    assert _predict._Decider(["A", "B", "C"], True, 0.2, None).label(np.array([0.25, 0.1, 0.3])) == "A;C"
    binary = _predict._Decider(["COVID", "Non_COVID"], False, 0.3, None)
    assert binary.label(np.array([0.35, 0.65])) == "COVID"
    assert binary.label(np.array([0.25, 0.75])) == "Non_COVID"
    with pytest.raises(_predict._Abort, match="binary and multi-label"):
        _predict._Decider(["A", "B", "C"], False, 0.3, None)


def test_a_scan_failing_in_the_model_does_not_lose_the_batch(workdir, tmp_path, monkeypatch, capsys):
    draw = _predict._save_overlay

    def fail_on_scan2(path, *args):
        if path.stem.endswith("scan2"):
            raise RuntimeError("cannot draw this one")
        draw(path, *args)

    monkeypatch.setattr(_predict, "_save_overlay", fail_on_scan2)
    files = sorted((workdir / "scans").rglob("scan[12].png"), key=lambda p: p.name)  # one batch
    model = workdir / "unet.skcovid"
    assert predict("--model", model, "--images", *files, "--out", tmp_path, "--no-gradcam") == 0
    rows = read_rows(tmp_path)
    assert [Path(r["path"]).name for r in rows] == ["scan1.png", "scan2.png"]
    assert [bool(r["error"]) for r in rows] == [False, True]
    assert "scan2.png: RuntimeError: cannot draw this one" in capsys.readouterr().err


class Payload:
    """Unpickling this creates a marker file: the harmless stand-in of a crafted model."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("name", ["model.joblib", "model.pkl", "model.skcovid"])
def test_a_crafted_pickle_never_runs_without_trust_pickle(name, workdir, tmp_path, capsys):
    marker = tmp_path / "payload-ran"
    model = tmp_path / name
    model.write_bytes(pickle.dumps(Payload(marker)))
    code = predict("--model", model, "--images", workdir / "scans", "--out", tmp_path / "out")
    assert code == 2 and not marker.exists()
    err = capsys.readouterr().err
    assert "runs whatever code it holds" in err and "--trust-pickle" in err and "persistence.dump" in err
    assert not (tmp_path / "out").exists()
    # the payload is real: with --trust-pickle it runs (and the result is no model)
    code = predict("--model", model, "--images", workdir / "scans", "--out", tmp_path / "out",
                   "--trust-pickle")
    assert marker.exists() and code == 1


def test_trusted_joblib_model_still_predicts(unet, workdir, tmp_path):
    files = sorted((workdir / "scans").glob("scan*.png"))[:2]
    args = ["--images", *files, "--no-gradcam"]
    assert predict("--model", workdir / "unet.joblib", "--trust-pickle", *args, "--out", tmp_path / "j") == 0
    assert predict("--model", workdir / "unet.skcovid", *args, "--out", tmp_path / "s") == 0
    assert read_rows(tmp_path / "j") == [
        {**row, "overlay": row["overlay"].replace(str(tmp_path / "s"), str(tmp_path / "j"))}
        for row in read_rows(tmp_path / "s")
    ]


def test_ctrl_c_exits_130_without_a_csv(workdir, tmp_path, monkeypatch, capsys):
    from skcovid.cli import main

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(_predict, "_process_safely", interrupted)
    args = ["predict", "--model", workdir / "unet.skcovid", "--images", workdir / "scans", "--out", tmp_path]
    assert main([str(a) for a in args]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "predictions.csv").exists()


def test_interrupted_training_is_reported(unet, workdir, tmp_path, capsys):
    import copy

    half_trained = copy.copy(unet)
    half_trained.fit_interrupted_ = True
    path = dump(half_trained, tmp_path / "half.skcovid")
    files = sorted((workdir / "scans").glob("scan*.png"))[:1]
    assert predict("--model", path, "--images", *files, "--out", tmp_path / "o", "--no-gradcam") == 0
    assert "training of" in capsys.readouterr().err
