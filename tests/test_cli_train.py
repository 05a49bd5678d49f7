"""``skcovid train``: the saved model is the pipeline the options describe, fitted on the chosen rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skcovid import _train
from skcovid.cli import main
from skcovid.persistence import load, read_manifest

from ._cli_helpers import TINY_MTL, split_rows, write_scans
from .multimodal._helpers import one_torch_thread


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scans")
    write_scans(folder)
    return folder


@pytest.fixture(scope="module")
def trained(scans, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    code = main(["train", scans, "--out", out, "--adversarial", "none", "--random-state", "3", *TINY_MTL])
    return code, out


def test_saved_model_is_the_pipeline_the_options_describe(trained, scans):
    from skcovid.multimodal import make_mtl_pipeline

    code, out = trained
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["model.skcovid", "report.json"]
    X_train, y_train = split_rows(scans, "train")
    X_test, _ = split_rows(scans, "test")
    expected = make_mtl_pipeline(
        image_size=48,
        max_epochs=2,
        cv=None,
        task_hidden=(8,),
        shared_hidden=(8,),
        head_hidden=(4,),
        adversarial=None,
        random_state=3,
    ).fit(X_train, y_train)
    model = load(out / "model.skcovid")
    assert model.get_params()["features__shared__adversarial"] is None
    np.testing.assert_allclose(model.predict_proba(X_test), expected.predict_proba(X_test), atol=1e-6)
    texture = model.named_steps["embed"].task_
    texture.verbose = 1  # as train leaves it with its progress bars on
    _train.quiet_embedders(model)
    assert texture.verbose == 0  # the saved model shows no bar when used later


def test_report_describes_the_training_rows(trained, scans):
    _, out = trained
    report = json.loads((out / "report.json").read_text())
    X_train, y_train = split_rows(scans, "train")
    assert report["data"]["n_scans"] == len(X_train)
    assert report["data"]["classes"] == {c: int((y_train == c).sum()) for c in ("COVID", "Non_COVID")}
    assert report["settings"]["max_epochs"] == 2 and report["settings"]["cv"] is None
    # the options left at None are recorded as the values the estimator used
    assert report["settings"]["lr"] is None and report["parameters"]["features__shared__lr"] == 1e-3
    assert report["parameters"]["features__shared__max_epochs"] == 2
    assert report["parameters"]["features__shared__hidden"] == [8]  # --shared-hidden 8
    assert read_manifest(out / "model.skcovid")["fit_interrupted"] is False


def test_scan_table_csv_trains_on_its_split_column(scans, tmp_path):
    """The folder's metadata.csv is a scan table; --split all uses every row."""
    import pandas as pd

    table = pd.read_csv(scans / "metadata.csv")
    code = main(["train", scans / "metadata.csv", "--split", "all", "--out", tmp_path, *TINY_MTL])
    assert code == 0
    assert json.loads((tmp_path / "report.json").read_text())["data"]["n_scans"] == len(table)


def test_image_model_is_an_image_classifier(scans, tmp_path):
    args = [
        "train",
        scans,
        "--model",
        "image",
        "--image-size",
        "32",
        "--max-epochs",
        "1",
        "--out",
        tmp_path,
        "--no-progress",
        "--modalities",
        "xray",
    ]
    assert main(args) == 0
    model = load(tmp_path / "model.skcovid")
    assert type(model).__name__ == "ImageClassifier" and model.weights is None
    assert model.preprocessor_.size_ == (32, 32)
    X_train, _ = split_rows(scans, "train")
    assert json.loads((tmp_path / "report.json").read_text())["data"]["n_scans"] == int(
        (X_train["modality"] == "xray").sum()
    )


def test_bad_inputs_name_the_culprit(scans, tmp_path, capsys):
    assert main(["train", tmp_path / "missing", "--out", tmp_path]) == 2
    assert "missing' does not exist" in capsys.readouterr().err
    bad_table = tmp_path / "table.csv"
    bad_table.write_text("path,modality,label\nX_Ray_Train/COVID/a.png,ultrasound,COVID\n")
    assert main(["train", bad_table, "--out", tmp_path]) == 1
    err = capsys.readouterr().err
    assert "line 2, column 'modality'" in err and "ultrasound" in err
    assert main(["train", scans, "--cv", "1", "--out", tmp_path]) == 2  # argparse: K >= 2 or none
    assert "--cv" in capsys.readouterr().err
    assert main(["train", scans, "--task-hidden", "8,x", "--out", tmp_path]) == 2
    assert not (tmp_path / "model.skcovid").exists()


def test_one_class_is_a_usage_error(tmp_path, capsys):
    import pandas as pd

    folder = tmp_path / "scans"
    write_scans(folder, n=20)
    table = pd.read_csv(folder / "metadata.csv")
    table[table["label"] == "COVID"].to_csv(folder / "covid.csv", index=False)
    assert main(["train", folder / "covid.csv", "--split", "all", "--out", tmp_path / "out"]) == 2
    assert "one class only" in capsys.readouterr().err


def _fail(exception):
    def raise_it(*args, **kwargs):
        raise exception

    return raise_it


def test_ctrl_c_exits_130_and_writes_nothing(scans, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_train, "fit_with_progress", _fail(KeyboardInterrupt))
    assert main(["train", scans, "--out", tmp_path, *TINY_MTL]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_fit_that_skorch_stopped_counts_as_interrupted(scans, tmp_path, monkeypatch, capsys):
    def stopped_fit(model, X, y, args):
        model.steps[-1][1].fit_interrupted_ = True
        return model

    monkeypatch.setattr(_train, "fit_with_progress", stopped_fit)
    assert main(["train", scans, "--out", tmp_path, *TINY_MTL]) == 130
    assert "the training of mtl was interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_option_defaults_are_the_pipeline_defaults():
    """`skcovid train` with no options builds what make_mtl_pipeline() builds."""
    import inspect

    from skcovid.cli import build_parser
    from skcovid.multimodal import make_mtl_pipeline

    args = build_parser().parse_args(["train", "scans", "--out", "model"])
    defaults = inspect.signature(make_mtl_pipeline).parameters
    given = {k: v for k, v in vars(args).items() if k in defaults and v is not None and k != "random_state"}
    assert {"shared_hidden", "task_hidden", "head_hidden", "cv", "adversarial"} <= set(given)
    for name, value in given.items():  # None means "the estimator's default"; the command seeds 0
        assert tuple(np.atleast_1d(value)) == tuple(np.atleast_1d(defaults[name].default)), name
