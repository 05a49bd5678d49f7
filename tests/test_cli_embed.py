"""``skcovid embed``: the Parquet rows are the embedder's own fit_transform of the scans."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from skcovid.cli import main
from skcovid.datasets import load_scan_folder
from skcovid.multimodal import make_embedder

from ._cli_helpers import write_scans


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scans")
    write_scans(folder, n=24)
    return folder


@pytest.fixture(scope="module")
def expected(scans):
    bunch = load_scan_folder(scans)
    return bunch, make_embedder("texture", image_size=48).fit_transform(bunch.data, bunch.target)


def _check_rows(table, bunch, embeddings, rows=slice(None)):
    """``table`` holds the embeddings, image, label, modality and split of ``rows`` of the folder."""
    features = list(embeddings.columns.drop(["modality", "patient"]))
    np.testing.assert_allclose(table[features].to_numpy(), embeddings[features][rows].to_numpy(), rtol=1e-6)
    assert table["label"].tolist() == list(bunch.target[rows])
    for column in ("image", "modality", "split"):
        assert table[column].tolist() == bunch.data[column][rows].tolist()


def test_parquet_rows_equal_the_embedders_output(scans, expected, tmp_path):
    pytest.importorskip("pyarrow")
    out = tmp_path / "emb.parquet"
    args = ["embed", scans, "--out", out, "--image-size", "48", "--batch-size", "7", "--no-progress"]
    assert main(args) == 0
    _check_rows(pd.read_parquet(out), *expected)


def test_csv_format_and_split(scans, expected, tmp_path):
    out = tmp_path / "emb.csv"
    assert main(["embed", scans, "--out", out, "--image-size", "48", "--split", "test", "--no-progress"]) == 0
    bunch, embeddings = expected
    test = (bunch.data["split"] == "test").to_numpy()
    _check_rows(pd.read_csv(out), bunch, embeddings, rows=test)


def test_missing_pyarrow_is_a_clear_error(scans, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    assert main(["embed", scans, "--out", tmp_path / "emb.parquet"]) == 1
    assert "pip install pyarrow (or pass --format csv)" in capsys.readouterr().err
    assert not (tmp_path / "emb.parquet").exists()


def test_bad_inputs(scans, tmp_path, capsys):
    assert main(["embed", tmp_path / "nowhere", "--out", tmp_path / "e.csv"]) == 2
    assert "nowhere' does not exist" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("not a scan table")
    assert main(["embed", tmp_path / "notes.txt", "--out", tmp_path / "e.csv"]) == 2
    assert "neither a folder nor a .csv scan table" in capsys.readouterr().err
    assert main(["embed", scans, "--embedder", "vit", "--out", tmp_path / "e.csv"]) == 2  # argparse choices
    assert main(["embed", scans, "--format", "csv", "--scheduler", "local:1", "--out", tmp_path / "e"]) == 2
    assert "drop --format csv" in capsys.readouterr().err


@pytest.mark.slow
def test_scheduler_writes_the_same_rows(scans, expected, tmp_path):
    """``--scheduler local:1``: the rows of skcovid.distributed.embed_to_parquet, same values."""
    pytest.importorskip("distributed")
    pytest.importorskip("pyarrow")
    out = tmp_path / "emb"
    args = [
        "embed",
        scans,
        "--out",
        out,
        "--image-size",
        "48",
        "--scheduler",
        "local:1",
        "--batch-size",
        "10",
    ]
    assert main(args) == 0
    _check_rows(pd.read_parquet(out).sort_index(), *expected)
