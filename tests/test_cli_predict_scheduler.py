"""``skcovid predict --scheduler``: the CSV of the local command, computed on a Dask cluster."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from PIL import Image

from skcovid.cli import main
from skcovid.persistence import dump

TINY = SimpleNamespace(**runpy.run_path(str(Path(__file__).parent / "explain" / "_tiny_estimators.py")))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from skcovid.datasets import make_synthetic_scans

    root = tmp_path_factory.mktemp("predict")
    dump(TINY.fit_tiny("ImageClassifier"), root / "cnn.skcovid")
    (root / "scans").mkdir()
    scans = make_synthetic_scans(5, modalities=("xray",), image_size=40, random_state=3).data
    for i, image in enumerate(scans["image"]):
        Image.fromarray(image).save(root / "scans" / f"scan{i}.png")
    return root


@pytest.mark.slow
def test_scheduler_gives_the_local_csv(workdir, capsys):
    pytest.importorskip("distributed")
    common = ["predict", "--model", workdir / "cnn.skcovid", "--images", workdir / "scans", "--no-gradcam"]
    assert main([*common, "--out", workdir / "local"]) == 0
    assert main([*common, "--out", workdir / "cluster", "--scheduler", "local:1", "--chunksize", "2"]) == 0
    assert "Predicted on local:1" in capsys.readouterr().out
    local, cluster = (pd.read_csv(workdir / kind / "predictions.csv") for kind in ("local", "cluster"))
    columns = ["path", "predicted", "proba_COVID", "proba_Non_COVID"]
    pd.testing.assert_frame_equal(cluster[columns], local[columns])


def test_scheduler_refuses_a_pickle_with_exit_2(workdir, tmp_path, capsys):
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04not a real pickle")
    args = [
        "predict",
        "--model",
        tmp_path / "model.pkl",
        "--images",
        workdir / "scans",
        "--out",
        tmp_path,
        "--scheduler",
        "local:1",
    ]
    assert main(args) == 2
    assert "--trust-pickle" in capsys.readouterr().err


def test_bad_scheduler_is_a_clear_failure(workdir, tmp_path, capsys):
    pytest.importorskip("distributed")
    args = [
        "predict",
        "--model",
        workdir / "cnn.skcovid",
        "--images",
        workdir / "scans",
        "--out",
        tmp_path,
        "--scheduler",
        "local:two",
    ]
    assert main(args) == 1
    assert "write 'local:N'" in capsys.readouterr().err
