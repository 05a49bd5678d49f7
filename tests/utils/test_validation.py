import numpy as np
import pandas as pd
import pytest

from skcovid.utils import check_modality, check_scan_table, grouped_validation_split, resolve_device


def test_check_scan_table_inputs(tmp_path):
    assert list(check_scan_table(np.zeros((3, 8, 8))).columns) == ["image"]
    assert len(check_scan_table([str(tmp_path / "a.png"), tmp_path / "b.png"])) == 2
    table = check_scan_table(pd.DataFrame({"image": [1, 2], "modality": ["X-Ray", "CT"]}))
    assert list(table["modality"]) == ["xray", "ct"]


@pytest.mark.parametrize(
    ("X", "kwargs", "match"),
    [
        (pd.DataFrame({"path": [1]}), {}, "no 'image' column"),
        (pd.DataFrame({"image": [1]}), {"require_modality": True}, "needs a 'modality' column"),
        (pd.DataFrame({"image": [1], "modality": ["mri"]}), {}, "Unknown modality 'mri'"),
        (pd.DataFrame({"image": [1], "modality": [None]}), {}, "row 0 is missing"),
        (pd.DataFrame({"image": [1], "modality": ["ct"]}), {"modalities": ["xray"]}, r"\['ct'\]"),
        (np.zeros((8, 8)), {}, "3 or 4 dimensions"),
        ("scan.png", {}, "single path"),
        ([1, 2], {}, "type"),
        (pd.DataFrame({"image": []}), {}, "empty"),
    ],
)
def test_check_scan_table_errors(X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_scan_table(X, **kwargs)


def test_check_modality():
    assert check_modality("CT_Scan") == "ct"
    with pytest.raises(ValueError, match="'xray' or 'ct'"):
        check_modality("pet")


def test_grouped_validation_split():
    y = np.array([0, 1] * 20)
    groups = np.repeat(np.arange(20), 2)
    train, valid = grouped_validation_split(y, groups, fraction=0.2, random_state=0)
    assert not set(groups[train]) & set(groups[valid])
    assert len(train) + len(valid) == 40 and len(valid) > 0
    with pytest.raises(ValueError, match="at least 2 patients"):
        grouped_validation_split(y, np.zeros(40), fraction=0.2)
    with pytest.raises(ValueError, match="fraction must be"):
        grouped_validation_split(y, groups, fraction=1.5)


def test_resolve_device():
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            resolve_device("cuda")
