"""``skcovid audit``: the files hold audit_shortcuts' own report; flags can fail the command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from skcovid.audit import audit_shortcuts
from skcovid.cli import main
from skcovid.datasets import load_scan_folder, load_scan_table
from skcovid.persistence import dump, load

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


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """Texture features and a logistic regression, fitted on other scans and saved without pickle."""
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skcovid.embedders import TextureEmbedder

    folder = tmp_path_factory.mktemp("training_scans")
    write_scans(folder, n=60, random_state=1)
    bunch = load_scan_folder(folder)
    features = make_column_transformer((StandardScaler(), make_column_selector(pattern="^tex_")))
    model = make_pipeline(TextureEmbedder(), features, LogisticRegression(max_iter=500))
    path = tmp_path_factory.mktemp("model") / "model.skcovid"
    dump(model.fit(bunch.data, bunch.target), path)
    return path


def test_saved_model_is_scored_as_it_is(table, saved_model, tmp_path):
    """--model: the estimator and lungs checks score the saved model itself, never retrained."""
    args = ["audit", table, "--model", saved_model, "--attributes", "site", "--checks", "estimator", "lungs"]
    assert main([*args, "--out", tmp_path, *LABEL_ONLY[2:]]) == 0
    model, X = load(saved_model), load_scan_table(table).data
    expected = model.predict_proba(X)[:, list(model.classes_).index("COVID")]
    scores = pd.read_csv(tmp_path / "audit_scores.csv", index_col=0)
    np.testing.assert_allclose(scores["score"], expected, atol=1e-5)  # float32 features
    assert "score_lungs_blanked_retrained" not in scores
    report = pd.read_csv(tmp_path / "audit_report.csv")
    assert set(report["check"]) == {"estimator_by_value", "lungs_blanked"}
    assert "lungs blanked, retrained" not in set(report["subset"])
    assert json.loads((tmp_path / "audit.json").read_text())["settings"]["model"] == str(saved_model)


def test_saved_model_must_know_the_labels(table, saved_model, tmp_path, capsys):
    scans = pd.read_csv(table)
    scans["label"] = scans["label"].map({"COVID": "positive", "Non_COVID": "negative"})
    renamed = table.with_name(f"renamed_{tmp_path.name}.csv")  # beside the images its paths name
    scans.to_csv(renamed, index=False)
    out = tmp_path / "out"
    assert main(["audit", renamed, "--model", saved_model, "--out", out, *LABEL_ONLY]) == 1
    assert "labels ['negative', 'positive'] that the model" in capsys.readouterr().err
    assert not out.exists()
    assert main(["audit", table, "--model", tmp_path / "none.skcovid", "--out", out]) == 2
