"""``skcovid audit``: the files hold audit_shortcuts' own report; flags can fail the command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from skcovid.audit import audit_shortcuts
from skcovid.cli import main
from skcovid.datasets import load_scan_table

from ._cli_helpers import write_scans

LABEL_ONLY = [
    "--checks",
    "label",
    "--n-bootstraps",
    "200",
    "--cv",
    "3",
    "--random-state",
    "1",
    "--no-progress",
]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A scan table whose 'source' gives the label away (a planted shortcut), and 'site' that does not."""
    folder = tmp_path_factory.mktemp("scans")
    write_scans(folder, n=80)
    scans = pd.read_csv(folder / "metadata.csv")
    rng = np.random.RandomState(0)
    scans["source"] = np.where(scans["label"] == "COVID", "hospital_a", "hospital_b")
    scans["site"] = rng.choice(["north", "south"], size=len(scans))
    scans.to_csv(folder / "scans.csv", index=False)
    return folder / "scans.csv"


def test_report_is_audit_shortcuts_own(table, tmp_path, capsys):
    args = ["audit", table, "--attributes", "source", "site", "--out", tmp_path, *LABEL_ONLY]
    assert main(args) == 0
    bunch = load_scan_table(table)
    expected = audit_shortcuts(
        bunch.data,
        bunch.target,
        attributes=["source", "site"],
        checks=["label"],
        cv=3,
        n_bootstraps=200,
        random_state=1,
    )
    written = pd.read_csv(tmp_path / "audit_report.csv", keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(
        written[["check", "attribute", "modality", "auc", "ci_low", "flagged"]],
        expected.report[["check", "attribute", "modality", "auc", "ci_low", "flagged"]],
        check_dtype=False,
    )
    report = json.loads((tmp_path / "audit.json").read_text())
    assert sorted(map(tuple, report["shortcut_attributes"])) == [("source", "ct"), ("source", "xray")]
    assert (tmp_path / "audit.txt").read_text() == str(expected) + "\n"
    assert "Shortcut risk: 'source' predicts the label" in capsys.readouterr().out
    assert (tmp_path / "audit.png").stat().st_size > 0


def test_fail_on_flag(table, tmp_path, capsys):
    common = ["audit", table, "--out", tmp_path, "--fail-on-flag", *LABEL_ONLY]
    assert main([*common, "--attributes", "site"]) == 0
    assert main([*common, "--attributes", "source"]) == 1
    assert "2 check(s) flagged" in capsys.readouterr().err


def test_folder_embeddings_check(tmp_path):
    """A folder in the X_Ray_Train/... layout; the embedding check reads the images."""
    folder = tmp_path / "scans"
    write_scans(folder, n=40)
    args = [
        "audit",
        folder,
        "--attributes",
        "split",
        "--checks",
        "embeddings",
        "--out",
        tmp_path / "out",
        "--cv",
        "2",
        "--n-bootstraps",
        "50",
        "--no-progress",
    ]
    assert main(args) == 0
    report = pd.read_csv(tmp_path / "out" / "audit_report.csv")
    assert set(report["check"]) == {"embeddings_predict_attribute"}
    assert set(report["subset"]) == {"all", "label=COVID", "label=Non_COVID"}


def test_bad_inputs(table, tmp_path, capsys):
    assert main(["audit", table, "--attributes", "hospital", "--out", tmp_path]) == 2
    err = capsys.readouterr().err
    assert "--attributes ['hospital']" in err and "'source'" in err
    assert main(["audit", table, "--checks", "colour", "--out", tmp_path]) == 2
    assert main(["audit", tmp_path / "nowhere", "--out", tmp_path]) == 2
    assert list(tmp_path.iterdir()) == []
