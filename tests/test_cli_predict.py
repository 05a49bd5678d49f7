"""``skcovid predict``: CSV and overlays from saved and ONNX models, refused pickles, errors, exit codes."""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import runpy
from pathlib import Path
from types import SimpleNamespace

import joblib
import numpy as np
import pytest
from PIL import Image

from skcovid import _predict
from skcovid.explain import _predict_rows
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
    args = [
        "predict",
        "--model",
        workdir / "unet.skcovid",
        "--images",
        *files,
        "--out",
        tmp_path,
        "--no-gradcam",
    ]
    assert main([str(a) for a in args]) == 0
    assert len(read_rows(tmp_path)) == 1


def test_torch_model_writes_predictions_and_overlays(unet, workdir, capsys):
    out = workdir / "out-torch"
    assert predict("--model", workdir / "unet.skcovid", "--images", workdir / "scans", "--out", out) == 0
    captured = capsys.readouterr()
    assert "broken.png" in captured.err and "Skipped 1" in captured.err
    rows = read_rows(out)
    assert list(rows[0]) == [
        "path",
        "predicted",
        "proba_COVID",
        "proba_Non_COVID",
        "mask_fraction",
        "overlay",
        "error",
    ]
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
    assert "Grad-CAM is not available for an ONNX" in capsys.readouterr().out
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
        ("unet", ["--threshold", "2"], 2, "threshold (--threshold) must be in"),
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
    assert "nope.png': the file does not exist" in capsys.readouterr().err
    assert [row["error"] != "" for row in read_rows(tmp_path)] == [True]


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
    draw = _predict_rows._save_overlay

    def fail_on_scan2(path, *args):
        if path.stem.endswith("scan2"):
            raise RuntimeError("cannot draw this one")
        draw(path, *args)

    monkeypatch.setattr(_predict_rows, "_save_overlay", fail_on_scan2)
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
    code = predict(
        "--model", model, "--images", workdir / "scans", "--out", tmp_path / "out", "--trust-pickle"
    )
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


def csv_text(out):
    """predictions.csv with the output folder replaced, to compare two runs."""
    text = (out / "predictions.csv").read_text(encoding="utf-8", errors="surrogateescape")
    return text.replace(str(out), "OUT")


def test_ctrl_c_keeps_the_finished_batches_and_resume_finishes_the_job(
    workdir, tmp_path, monkeypatch, capsys
):
    from skcovid.cli import main

    model, scans = workdir / "unet.skcovid", workdir / "scans"
    common = ["predict", "--model", model, "--images", scans, "--batch-size", "2"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main([*common, "--out", whole]) == 0
    # files in order: broken.png, nested/scan1, nested/scan3, scan0, scan2, scan4: Ctrl-C at the 5th
    read, on_disk = _predict_rows.read_scan, []

    def interrupted_at_scan2(path):
        if Path(path).name == "scan2.png":
            on_disk.append(csv_text(parts))
            raise KeyboardInterrupt
        return read(path)

    monkeypatch.setattr(_predict_rows, "read_scan", interrupted_at_scan2)
    assert main([*common, "--out", parts]) == 130
    assert "--resume" in capsys.readouterr().err
    written = read_rows(parts)
    assert [Path(r["path"]).name for r in written] == ["scan1.png", "scan3.png", "scan0.png"]
    assert on_disk == [csv_text(parts)]  # the rows were on disk before the interrupt, not written by it
    assert csv_text(whole).startswith(csv_text(parts))
    monkeypatch.undo()
    assert main([*common, "--out", parts, "--resume"]) == 0
    assert "(3 already there)" in capsys.readouterr().out
    assert csv_text(parts) == csv_text(whole)  # the same rows, order and overlay names
    assert sorted(p.name for p in (parts / "overlays").iterdir()) == sorted(
        p.name for p in (whole / "overlays").iterdir()
    )
    assert main([*common, "--out", parts, "--resume"]) == 0  # nothing left: the CSV is unchanged
    assert csv_text(parts) == csv_text(whole)
    assert main([*common, "--out", parts]) == 0  # without --resume: written anew
    assert csv_text(parts) == csv_text(whole)


def test_resume_with_another_model_is_refused(unet, workdir, tmp_path, capsys):
    import copy

    three_classes = copy.copy(unet)
    three_classes.classes_ = np.array(["A", "B", "C"])
    files = sorted((workdir / "scans").glob("scan*.png"))[:2]
    common = ["--out", tmp_path, "--no-gradcam"]
    assert predict("--model", workdir / "unet.skcovid", "--images", files[0], *common) == 0
    model = tmp_path / "other.joblib"
    joblib.dump(three_classes, model)
    assert predict("--model", model, "--trust-pickle", "--images", *files, *common, "--resume") == 2
    assert "written by another model or with other options" in capsys.readouterr().err
    assert len(read_rows(tmp_path)) == 1


def test_any_file_name_is_written_and_read_back(workdir, tmp_path):
    names = ["a, b.png", 'say "hi".png', "two\nlines.png", os.fsdecode(b"caf\xe9-\xff.png")]
    scans = tmp_path / "weird"
    scans.mkdir()
    source = sorted((workdir / "scans").glob("scan*.png"))[0].read_bytes()
    for name in names:
        (scans / name).write_bytes(source)
    out = tmp_path / "out"
    assert predict("--model", workdir / "unet.skcovid", "--images", scans, "--out", out, "--no-gradcam") == 0
    with open(out / "predictions.csv", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["path"] for r in rows) == sorted(str(scans / n) for n in names)
    assert all(not r["error"] and Path(r["overlay"]).is_file() for r in rows)
    assert len({r["proba_COVID"] for r in rows}) == 1  # the same image under every name
    assert predict("--model", workdir / "unet.skcovid", "--images", scans, "--out", out, "--resume") == 0
    assert len(read_rows_safely(out)) == len(names)  # every name recognised as done


def read_rows_safely(out):
    with open(out / "predictions.csv", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        return list(csv.DictReader(handle))


def test_interrupted_training_is_reported(unet, workdir, tmp_path, capsys):
    import copy

    half_trained = copy.copy(unet)
    half_trained.fit_interrupted_ = True
    path = dump(half_trained, tmp_path / "half.skcovid")
    files = sorted((workdir / "scans").glob("scan*.png"))[:1]
    assert predict("--model", path, "--images", *files, "--out", tmp_path / "o", "--no-gradcam") == 0
    assert "training of" in capsys.readouterr().err
