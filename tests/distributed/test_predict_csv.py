"""predict_to_csv on two workers writes the CSV and overlays of a local ``skcovid predict`` run."""

from __future__ import annotations

import argparse
import csv
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from skcovid import _predict
from skcovid.distributed import predict_to_csv

TINY = SimpleNamespace(**runpy.run_path(str(Path(__file__).parents[1] / "explain" / "_tiny_estimators.py")))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A tiny saved MultiTaskUNet and 7 PNGs (one nested, one broken)."""
    from skcovid.persistence import dump

    root = tmp_path_factory.mktemp("dpredict")
    dump(TINY.fit_tiny("MultiTaskUNet"), root / "unet.skcovid")
    (root / "scans" / "nested").mkdir(parents=True)
    X, _ = TINY.tiny_scans(6, image_size=40, random_state=3)
    for i, image in enumerate(X["image"]):
        Image.fromarray(image).save(root / "scans" / ("nested" if i % 3 == 0 else "") / f"scan{i}.png")
    (root / "scans" / "broken.png").write_bytes(b"not a png")
    return root


def rows_of(out):
    with open(out / "predictions.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_csv_and_overlays_as_the_local_command(client, workdir):
    parser = argparse.ArgumentParser()
    _predict.add_arguments(parser)
    local_out, dist_out = workdir / "local", workdir / "dask"
    args = ["--model", workdir / "unet.skcovid", "--images", workdir / "scans", "--out", local_out,
            "--batch-size", "2"]
    assert _predict.run(parser.parse_args([str(a) for a in args])) == 0
    csv_path = predict_to_csv(workdir / "unet.skcovid", [workdir / "scans"], dist_out, scheduler=client,
                              batch_size=2, chunksize=2)
    assert csv_path == dist_out / "predictions.csv"
    local, dist = rows_of(local_out), rows_of(dist_out)
    assert list(dist[0]) == list(local[0])  # path, predicted, proba_*, mask_fraction, overlay, error
    assert len(dist) == len(local) == 7 and Path(dist[-1]["path"]).name == "broken.png" and dist[-1]["error"]
    for a, b in zip(local, dist):
        assert Path(a.pop("overlay")).name == Path(b.pop("overlay")).name
        for column in ("proba_COVID", "proba_Non_COVID"):
            value_a, value_b = a.pop(column), b.pop(column)
            assert (value_a == value_b == "") or abs(float(value_a) - float(value_b)) <= 1e-5
        assert a == b  # path, predicted, mask_fraction, error
    local_png = sorted((local_out / "overlays").glob("*.png"))
    dist_png = sorted((dist_out / "overlays").glob("*.png"))
    assert [p.name for p in dist_png] == [p.name for p in local_png] and len(dist_png) == 6
    for a, b in zip(local_png, dist_png):
        np.testing.assert_array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
    assert not list((dist_out / "overlays").glob(".partition-*"))  # temporary folders removed


def test_errors_name_the_problem(workdir, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        predict_to_csv(workdir / "missing.skcovid", [workdir / "scans"], tmp_path, scheduler=None)
    with pytest.raises(ValueError, match="no image files found"):
        (tmp_path / "empty").mkdir()
        predict_to_csv(workdir / "unet.skcovid", [tmp_path / "empty"], tmp_path / "o", scheduler=None)
    with pytest.raises(ValueError, match="scheduler='local:x'"):
        predict_to_csv(workdir / "unet.skcovid", [workdir / "scans"], tmp_path / "o", scheduler="local:x")
