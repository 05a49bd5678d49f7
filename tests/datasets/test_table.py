"""``load_scan_table``: a CSV scan table reads as the folder it describes; errors name line and column."""

from __future__ import annotations

import pandas as pd
import pytest

from skcovid.datasets import load_scan_folder, load_scan_table, make_synthetic_scans


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("scans")
    make_synthetic_scans(30, image_size=32, directory=root, random_state=0)
    return root


def _sorted(frame):
    return frame.sort_values("image").reset_index(drop=True)


def test_metadata_csv_reads_as_the_folder(folder):
    table, layout = load_scan_table(folder / "metadata.csv"), load_scan_folder(folder)
    columns = ["image", "modality", "patient", "mask", "source", "label"]
    pd.testing.assert_frame_equal(_sorted(table.frame[columns]), _sorted(layout.frame[columns]))
    assert table.target_names.tolist() == ["COVID", "Non_COVID"]


def test_image_column_absolute_paths_aliases_and_filters(folder, tmp_path):
    scans = pd.read_csv(folder / "metadata.csv").rename(columns={"path": "image"}).drop(columns="patient")
    scans["image"] = [str(folder / p) for p in scans["image"]]
    scans["modality"] = scans["modality"].map({"xray": "X-Ray", "ct": "CT_Scan"})
    scans["split"] = ["train", "test"] * (len(scans) // 2)
    scans = scans.drop(columns="mask")
    scans.to_csv(tmp_path / "scans.csv", index=False)
    bunch = load_scan_table(tmp_path / "scans.csv", split="test", modalities="ct")
    expected = scans[(scans["split"] == "test") & (scans["modality"] == "CT_Scan")]
    assert bunch.data["image"].tolist() == expected["image"].tolist()
    assert set(bunch.data["modality"]) == {"ct"}
    assert bunch.data["patient"].tolist() == expected["image"].tolist()  # each scan its own patient


@pytest.mark.parametrize(
    "edit, error, message",
    [
        (lambda t: t.drop(columns="label"), ValueError, "has no column(s) label"),
        (
            lambda t: t.assign(modality=["xray"] * 3 + ["mri"] + ["ct"] * (len(t) - 4)),
            ValueError,
            "line 5, column 'modality'",
        ),
        (
            lambda t: t.assign(label=[None] + ["COVID"] * (len(t) - 1)),
            ValueError,
            "column 'label' is empty on line(s) [2]",
        ),
        (
            lambda t: t.assign(path=["missing.png"] + list(t["path"][1:])),
            FileNotFoundError,
            "line 2, column 'path': file",
        ),
    ],
)
def test_errors_name_line_and_column(folder, tmp_path, edit, error, message):
    scans = edit(pd.read_csv(folder / "metadata.csv"))
    csv = folder / f"edited-{tmp_path.name}.csv"  # relative paths are read from the CSV's folder
    scans.to_csv(csv, index=False)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_scan_table(csv)


def test_split_needs_a_split_column(folder):
    with pytest.raises(ValueError, match="has no 'split' column"):
        load_scan_table(folder / "metadata.csv", split="train")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_scan_table(folder / "nowhere.csv")
