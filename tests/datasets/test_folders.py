import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skcovid.datasets import (
    load_image_folders,
    load_radiography_database,
    load_scan_folder,
    make_synthetic_scans,
)
from skcovid.preprocessing import ScanReadError, read_scan


@pytest.mark.real_data
def test_real_data_counts(real_data_dir):
    bunch = load_scan_folder(real_data_dir)
    X = bunch.data
    counts = X.groupby(["modality", "split"]).size().to_dict()
    assert counts == {
        ("xray", "train"): 583,
        ("xray", "test"): 132,
        ("ct", "train"): 1439,
        ("ct", "test"): 361,
    }
    assert len(X) == 2515
    assert X["mask"].notna().sum() == 329
    assert set(bunch.target) == {"COVID", "Non_COVID"}
    assert list(X.columns[:4]) == ["image", "modality", "patient", "mask"]
    # metadata merged: patients come from metadata.csv, and the split is grouped by patient
    assert X["patient"].nunique() < len(X)
    for modality in ("xray", "ct"):
        sub = X[X["modality"] == modality]
        train, test = (
            set(sub.loc[sub.split == "train", "patient"]),
            set(sub.loc[sub.split == "test", "patient"]),
        )
        assert not train & test
    masked = X[X["mask"].notna()]
    assert (masked["modality"] == "xray").all()
    assert read_scan(masked["mask"].iloc[0]).shape == read_scan(masked["image"].iloc[0]).shape


@pytest.mark.real_data
def test_real_data_filters(real_data_dir):
    bunch = load_scan_folder(real_data_dir, split="test", modalities="xray")
    assert len(bunch.data) == 132
    assert (bunch.data["split"] == "test").all()
    assert bunch.target.value_counts().to_dict() == {"Non_COVID": 81, "COVID": 51}


def test_synthetic_folder_round_trip(synthetic_folder):
    folder, written = synthetic_folder
    loaded = load_scan_folder(folder)
    assert len(loaded.data) == len(written.data) == 60
    assert loaded.data["mask"].notna().all()
    assert sorted(loaded.data["patient"]) == sorted(written.data["patient"])
    merged = loaded.frame.merge(written.frame, on="image", suffixes=("_l", "_w"))
    assert (merged["label_l"] == merged["label_w"]).all()
    assert (merged["split_l"] == merged["split_w"]).all()


def test_case_insensitive_layout(tmp_path):
    for folder in ("x_ray_train/covid", "X_RAY_TEST/Non_COVID"):
        (tmp_path / folder).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / folder / "a.png")
    with pytest.warns(UserWarning, match="2 of 2 scans have no patient id"):
        bunch = load_scan_folder(tmp_path)
    assert sorted(bunch.data["split"]) == ["test", "train"]
    assert bunch.data["patient"].nunique() == 2  # each file its own patient without metadata


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_scan_folder(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="X_Ray_Train"):
        load_scan_folder(tmp_path)
    with pytest.raises(ValueError, match="Unknown split"):
        load_scan_folder(tmp_path, split="valid")
    with pytest.raises(ValueError, match="Unknown modality"):
        load_scan_folder(tmp_path, modalities="mri")


def _bad_layout(tmp_path):
    good = tmp_path / "CT_Scan_Train" / "COVID"
    good.mkdir(parents=True)
    Image.fromarray(np.full((8, 8), 100, np.uint8)).save(good / "ok.png")
    (good / "empty.png").write_bytes(b"")
    (good / "corrupt.png").write_bytes(b"\x89PNG not really")
    return tmp_path


def test_corrupt_files_raise_or_skip(tmp_path):
    root = _bad_layout(tmp_path)
    with pytest.raises(ScanReadError, match="corrupt.png|empty.png"):
        load_scan_folder(root)
    with pytest.warns(UserWarning, match="Skipped 2 unreadable"):
        bunch = load_scan_folder(root, on_error="skip")
    assert len(bunch.data) == 1
    assert sorted(p.rsplit("/", 1)[-1] for p, _ in bunch.skipped) == ["corrupt.png", "empty.png"]
    assert all(reason for _, reason in bunch.skipped)


def test_radiography_database(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("COVID", "Normal", "Viral Pneumonia", "Lung_Opacity"):
        for sub in ("images", "masks"):
            (tmp_path / name / sub).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(
                tmp_path / name / "images" / f"{name}-{i}.png"
            )
        Image.fromarray(np.full((16, 16), 255, np.uint8)).save(tmp_path / name / "masks" / f"{name}-0.png")
    bunch = load_radiography_database(tmp_path)
    assert len(bunch.data) == 8
    assert list(bunch.target_names) == ["COVID", "Lung_Opacity", "Normal", "Viral Pneumonia"]
    assert bunch.data["mask"].notna().sum() == 4
    assert (bunch.data["modality"] == "xray").all()


def test_image_folders(tmp_path):
    for name in ("nCoV", "no_nCoV"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name / f"{i}.jpg")
    bunch = load_image_folders(tmp_path, modality="CT")
    assert len(bunch.data) == 6
    assert set(bunch.data["modality"]) == {"ct"}
    assert list(bunch.target_names) == ["nCoV", "no_nCoV"]
    with pytest.raises(FileNotFoundError, match="missing"):
        load_image_folders(tmp_path, modality="ct", classes=["missing"])
    with pytest.raises(ValueError, match="Unknown modality"):
        load_image_folders(tmp_path, modality="pet")


def test_bunch_shapes_match_sklearn_loaders():
    bunch = make_synthetic_scans(12, image_size=32, random_state=0)
    assert isinstance(bunch.frame, pd.DataFrame)
    assert len(bunch.data) == len(bunch.target) == len(bunch.frame)
    assert "label" in bunch.frame.columns and "label" not in bunch.data.columns


def test_validate_header_is_the_documented_opt_out(tmp_path):
    folder = tmp_path / "X_Ray_Train" / "COVID"
    folder.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "ok.png")
    noise = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "cut.jpg")
    blob = (folder / "cut.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ScanReadError, match="cut.jpg.*truncated"):
        load_scan_folder(tmp_path, validate="full")
    with pytest.warns(UserWarning, match="no patient id"):
        bunch = load_scan_folder(tmp_path, validate="header")  # the header is intact
    assert len(bunch.data) == 2
    with pytest.raises(ValueError, match="validate must be one of"):
        load_scan_folder(tmp_path, validate="none")


def test_entries_the_layout_does_not_read_are_named(tmp_path):
    folder = tmp_path / "CT_Scan_Test" / "COVID"
    (folder / "patient-7").mkdir(parents=True)
    for path in (folder / "a.png", folder / "patient-7" / "b.png", tmp_path / "CT_Scan_Test" / "loose.png"):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    (folder / "c.gif").write_bytes(b"GIF89a")
    with pytest.warns(UserWarning, match="Ignored 3 ") as caught:
        bunch = load_scan_folder(tmp_path)
    message = next(str(w.message) for w in caught if "Ignored" in str(w.message))
    for expected in ("loose.png: not inside a class folder", "patient-7: a nested folder",
                     "c.gif: not a scan file"):
        assert expected in message
    assert [p.rsplit("/", 1)[-1] for p in bunch.data["image"]] == ["a.png"]


def test_metadata_columns_merge_and_masks_resolve(synthetic_folder):
    folder, written = synthetic_folder
    loaded = load_scan_folder(folder, split="train")  # test rows of metadata.csv are left out quietly
    assert set(loaded.data["split"]) == {"train"}
    assert (loaded.data["source"] == "synthetic").all()
    assert all(str(folder) in m for m in loaded.data["mask"])
