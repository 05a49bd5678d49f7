"""``skcovid evaluate``: the report equals clinical_report of the saved model's own predictions."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest

from skcovid.cli import main
from skcovid.metrics import clinical_report
from skcovid.persistence import load

from ._cli_helpers import TINY_MTL, split_rows, write_scans
from .multimodal._helpers import one_torch_thread

EVAL = ["--n-bootstraps", "200", "--random-state", "3", "--no-progress"]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A folder of scans and the model ``skcovid train`` saved from its train split."""
    folder = tmp_path_factory.mktemp("scans")
    write_scans(folder)
    out = tmp_path_factory.mktemp("model")
    assert main(["train", folder, "--out", out, *TINY_MTL]) == 0
    return folder, out / "model.skcovid"


@pytest.fixture(scope="module")
def evaluated(setup, tmp_path_factory):
    folder, model = setup
    out = tmp_path_factory.mktemp("evaluation")
    return main(["evaluate", model, folder, "--out", out, *EVAL]), out


def _expected(setup, **keywords):
    """clinical_report of the loaded model's test-split probabilities, per modality and overall."""
    folder, path = setup
    X, y = split_rows(folder, "test")
    model = load(path)
    proba = model.predict_proba(X)
    pred = model.classes_[np.argmax(proba, axis=1)]
    score = proba[:, list(model.classes_).index("COVID")]
    frames = [
        clinical_report(
            y,
            score,
            pred,
            pos_label="COVID",
            groups=X["patient"].to_numpy(),
            by=by,
            n_bootstraps=200,
            random_state=3,
            **keywords,
        )
        for by in (X["modality"].to_numpy(), None)
    ]
    return X, y, proba, pd.concat(frames, ignore_index=True)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_report_equals_metrics_of_the_models_predictions(setup, evaluated):
    code, out = evaluated
    assert code == 0
    X, y, proba, expected = _expected(setup)
    table = pd.read_csv(out / "metrics.csv")
    assert table["group"].tolist() == expected["group"].astype(str).tolist()
    assert table["metric"].tolist() == expected["metric"].tolist()
    for column in ("value", "ci_low", "ci_high", "n"):
        np.testing.assert_allclose(table[column], expected[column].astype(float), equal_nan=True)
    report = json.loads((out / "report.json").read_text())
    pd.testing.assert_frame_equal(pd.DataFrame(report["metrics"]), table, check_dtype=False)
    assert report["data"]["n_scans"] == len(X) and report["level"] == "scan"
    predictions = pd.read_csv(out / "predictions.csv")
    np.testing.assert_allclose(predictions[["proba_COVID", "proba_Non_COVID"]], proba, atol=1e-6)
    assert predictions["label"].tolist() == list(y)
    for name in ("roc.png", "confusion_matrices.png"):
        assert (out / name).stat().st_size > 0


def test_threshold_decides_the_predictions(setup, tmp_path):
    folder, model = setup
    assert main(["evaluate", model, folder, "--out", tmp_path, "--threshold", "0", *EVAL]) == 0
    table = pd.read_csv(tmp_path / "metrics.csv").set_index(["group", "metric"])
    assert table.loc[("all", "sensitivity"), "value"] == 1.0  # everything is called COVID
    assert table.loc[("all", "specificity"), "value"] == 0.0
    assert set(pd.read_csv(tmp_path / "predictions.csv")["predicted"]) == {"COVID"}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_patient_level_wilson_intervals(setup, tmp_path):
    folder, model = setup
    args = [
        "evaluate",
        model,
        folder,
        "--out",
        tmp_path,
        "--aggregate",
        "mean",
        "--ci-method",
        "wilson",
        *EVAL,
    ]
    assert main(args) == 0
    X, _, _, _ = _expected(setup)
    table = pd.read_csv(tmp_path / "metrics.csv")
    overall = table[table["group"] == "all"]
    assert set(overall["n"]) == {X["patient"].nunique()}
    assert set(table.loc[table["metric"] == "sensitivity", "ci_method"]) == {"wilson"}
    assert set(table.loc[table["metric"] == "roc_auc", "ci_method"]) == {"bootstrap"}


def test_bad_inputs(setup, tmp_path, capsys):
    folder, model = setup
    with open(tmp_path / "model.pkl", "wb") as handle:
        pickle.dump(load(model), handle)
    assert main(["evaluate", tmp_path / "model.pkl", folder, "--out", tmp_path]) == 2
    err = capsys.readouterr().err
    assert "model.pkl" in err and "--trust-pickle" in err
    assert main(["evaluate", model, tmp_path / "nowhere", "--out", tmp_path]) == 2
    assert "nowhere' does not exist" in capsys.readouterr().err
    table = pd.read_csv(folder / "metadata.csv").assign(label="Pneumonia")
    table["path"] = [str(folder / p) for p in table["path"]]
    table["mask"] = [str(folder / p) for p in table["mask"]]
    table.to_csv(tmp_path / "other.csv", index=False)
    assert main(["evaluate", model, tmp_path / "other.csv", "--out", tmp_path]) == 1
    assert "labels ['Pneumonia'] that the model does not know" in capsys.readouterr().err
    assert main(["evaluate", model, folder, "--positive-label", "Flu", "--out", tmp_path]) == 2
    assert "--positive-label 'Flu'" in capsys.readouterr().err
