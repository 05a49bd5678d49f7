"""predict_rows and PredictionWriter: one model run per batch, bounded overlays, safe CSV, resume."""

from __future__ import annotations

import csv
import os
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skcovid.explain import GradCAM, PredictionWriter, _predict_rows, predict_rows

TINY = SimpleNamespace(**runpy.run_path(str(Path(__file__).parent / "_tiny_estimators.py")))


@pytest.fixture(scope="module")
def unet():
    return TINY.fit_tiny("MultiTaskUNet")


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """Seven 40 px PNGs."""
    folder = tmp_path_factory.mktemp("rows")
    X, _ = TINY.tiny_scans(7, image_size=40, random_state=5)
    paths = [folder / f"scan{i}.png" for i in range(7)]
    for path, image in zip(paths, X["image"]):
        Image.fromarray(image).save(path)
    return paths


def flatten(batches):
    return [row for batch in batches for row in batch]


def test_one_forward_per_batch_gives_probabilities_mask_and_gradcam(unet, scans, tmp_path, monkeypatch):
    calls = []
    handle = unet.module_.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    drawn = {}

    def record(path, gray, heatmap, mask, title):
        drawn[path.name] = heatmap

    monkeypatch.setattr(_predict_rows, "_save_overlay", record)
    try:
        rows = flatten(predict_rows(unet, scans, overlays=tmp_path, batch_size=3, target_layer="encoder.2"))
    finally:
        handle.remove()
    assert calls == [3, 3, 1]  # one forward per batch: probabilities, mask and Grad-CAM together
    proba = np.array([[float(r["proba_COVID"]), float(r["proba_Non_COVID"])] for r in rows])
    np.testing.assert_allclose(proba, unet.predict_proba(scans), atol=1e-6)
    assert [r["predicted"] for r in rows] == list(unet.predict(scans))
    np.testing.assert_allclose(
        [float(r["mask_fraction"]) for r in rows], unet.predict_mask(scans).mean(axis=(1, 2)), atol=1e-4
    )
    expected = GradCAM(unet, target_layer="encoder.2").explain(scans, target=list(unet.predict(scans)))
    heatmaps = np.stack([drawn[Path(r["overlay"]).name] for r in rows])
    np.testing.assert_allclose(heatmaps, expected, atol=1e-5)
    assert [Path(r["overlay"]).name for r in rows] == [f"{i:04d}_scan{i}.png" for i in range(7)]


def test_onnx_runs_its_graph_once_per_batch(unet, scans, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from skcovid.export import OnnxClassifier, export_onnx

    model = OnnxClassifier(export_onnx(unet, tmp_path / "unet.onnx")).fit()
    session, runs = model.session_, []
    run = session.run
    session.run = lambda names, feeds: runs.append(len(feeds["image"])) or run(names, feeds)
    rows = flatten(predict_rows(model, scans, batch_size=4))
    assert runs == [4, 3]  # probabilities and mask from one run
    np.testing.assert_allclose(
        [float(r["proba_COVID"]) for r in rows], unet.predict_proba(scans)[:, 0], atol=1e-4
    )
    np.testing.assert_allclose(
        [float(r["mask_fraction"]) for r in rows], unet.predict_mask(scans).mean(axis=(1, 2)), atol=0.02
    )
    assert all(r["overlay"] == "" for r in rows)  # no overlays folder: none drawn


def test_onnx_predict_proba_preprocesses_batch_by_batch(unet, scans, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from skcovid.export import OnnxClassifier, export_onnx

    model = OnnxClassifier(export_onnx(unet, tmp_path / "unet.onnx"), batch_size=3).fit()
    sizes = []
    transform = type(model.preprocessor_).transform
    monkeypatch.setattr(
        type(model.preprocessor_), "transform", lambda self, X: sizes.append(len(X)) or transform(self, X)
    )
    np.testing.assert_allclose(model.predict_proba(scans), unet.predict_proba(scans), atol=1e-4)
    assert sizes == [3, 3, 1]


@pytest.mark.parametrize(("shape", "overlay_size"), [((2400, 2000), None), ((3000, 120), 64)])
def test_overlays_are_drawn_at_a_bounded_size(unet, tmp_path, monkeypatch, shape, overlay_size):
    image = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)).save(image)
    held = []
    draw = _predict_rows._save_overlay
    monkeypatch.setattr(
        _predict_rows,
        "_save_overlay",
        lambda path, gray, *rest: held.append(gray.shape) or draw(path, gray, *rest),
    )
    options = {} if overlay_size is None else {"overlay_size": overlay_size}
    (row,) = flatten(predict_rows(unet, [image], overlays=tmp_path, **options))
    limit = overlay_size or 512  # the default
    scale = limit / max(shape)  # the scan is held scaled down, its aspect kept
    assert held == [(round(shape[0] * scale), round(shape[1] * scale))]
    with Image.open(row["overlay"]) as png:
        assert png.size[0] <= 400 and png.size[1] <= 1650  # a very tall scan: the figure is clamped


def test_read_errors_are_rows_and_the_batch_goes_on(unet, scans, tmp_path, monkeypatch):
    read = _predict_rows.read_scan

    def fail_third(path):
        if Path(path).name == "scan2.png":
            raise RuntimeError("disk hiccup")
        return read(path)

    monkeypatch.setattr(_predict_rows, "read_scan", fail_third)
    rows = flatten(predict_rows(unet, [*scans[:4], tmp_path / "missing.png"], batch_size=4, gradcam=False))
    assert [bool(r["error"]) for r in rows] == [False, False, True, False, True]
    assert rows[2]["error"] == "disk hiccup" and rows[2]["proba_COVID"] == ""
    assert "does not exist" in rows[4]["error"]


def test_options_are_checked_before_any_scan(unet):
    for options, message in [
        ({"batch_size": 0}, "batch_size"),
        ({"overlay_size": 8}, "overlay_size"),
        ({"modality": "mri"}, "modality"),
        ({"numbers": [1]}, "numbers has 1"),
        ({"threshold": 1.5}, "threshold"),
        ({"positive_label": "Flu"}, "not a class"),
        ({"target_layer": "nope"}, "no layer named 'nope'"),
    ]:
        with pytest.raises(ValueError, match=message):
            predict_rows(unet, ["never-read.png", "x.png"], **options)


def test_writer_round_trips_any_file_name(tmp_path):
    names = ["plain.png", 'comma, quote " and\nnewline.png', os.fsdecode(b"latin1-\xe9\xff.png"), "漢字.png"]
    rows = [{"path": str(tmp_path / n), "predicted": "COVID", "error": ""} for n in names]
    with PredictionWriter(tmp_path / "p.csv") as writer:
        writer.write(rows)
    with open(tmp_path / "p.csv", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        assert list(csv.DictReader(handle)) == rows
    frame = pd.read_csv(tmp_path / "p.csv", encoding_errors="surrogateescape", dtype={"path": object})
    assert frame["path"].tolist() == [r["path"] for r in rows]
    assert (tmp_path / "p.csv").read_bytes().count(b"\xe9\xff") == 1  # the name's bytes, unchanged
    assert _predict_rows._overlay_name(3, names[1]) == "0003_comma_quote_and_newline.png"


def test_writer_resume_keeps_rows_and_puts_failures_last(tmp_path):
    path = tmp_path / "p.csv"
    good = [{"path": f"s{i}", "error": ""} for i in range(4)]
    bad = {"path": "broken", "error": "cannot read"}
    with pytest.raises(KeyboardInterrupt), PredictionWriter(path) as writer:
        writer.write([good[0], bad, good[1]])
        raise KeyboardInterrupt
    with open(path, "ab") as handle:
        handle.write(b"s9,")  # a row cut short by a crash
    with PredictionWriter(path, resume=True) as writer:
        assert writer.done == {"s0", "s1"}  # the failure was left for the resumed run
        writer.write([bad, good[2], good[3]])
    with PredictionWriter(tmp_path / "whole.csv") as writer:
        writer.write([good[0], bad, good[1]])
        writer.write([good[2], good[3]])
    assert path.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    with PredictionWriter(path, resume=True) as writer, pytest.raises(ValueError, match="other options"):
        writer.write([{"path": "s5", "predicted": "COVID", "error": ""}])
    with PredictionWriter(path) as writer:  # default: a new file
        assert writer.done == set()
    assert path.read_text() == ""
