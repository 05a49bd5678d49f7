import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score

from skcovid.datasets import make_synthetic_scans
from skcovid.preprocessing import ScanPreprocessor


def test_deterministic():
    a = make_synthetic_scans(30, image_size=32, random_state=3)
    b = make_synthetic_scans(30, image_size=32, random_state=3)
    c = make_synthetic_scans(30, image_size=32, random_state=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.data["image"], b.data["image"]))
    assert a.target.equals(b.target) and a.data["patient"].equals(b.data["patient"])
    assert not all(np.array_equal(x, y) for x, y in zip(a.data["image"], c.data["image"]))


def test_structure():
    bunch = make_synthetic_scans(50, image_size=40, random_state=0)
    X = bunch.data
    assert len(X) == 50
    assert set(X["modality"]) == {"xray", "ct"}
    assert X["image"][0].dtype == np.uint8 and X["image"][0].shape == (40, 40)
    assert X["mask"][0].shape == (40, 40) and set(np.unique(X["mask"][0])) <= {0, 1}
    # several scans per patient, one label per patient, no patient on both sides of the split
    assert X["patient"].nunique() < len(X)
    assert (bunch.frame.groupby("patient")["label"].nunique() == 1).all()
    assert (bunch.frame.groupby("patient")["split"].nunique() == 1).all()
    assert set(X["split"]) == {"train", "test"}


def test_single_modality_and_errors():
    bunch = make_synthetic_scans(10, modalities=("ct",), image_size=32, random_state=0)
    assert set(bunch.data["modality"]) == {"ct"}
    with pytest.raises(ValueError, match="Unknown modality"):
        make_synthetic_scans(10, modalities=("mri",))
    with pytest.raises(ValueError, match="n_samples"):
        make_synthetic_scans(1)


@pytest.mark.slow
def test_learnable_but_not_trivial():
    """A logistic regression on downsampled pixels is well above chance and below 100 %."""
    bunch = make_synthetic_scans(400, image_size=64, random_state=0)
    X, y = bunch.data, bunch.target
    for modality in ("xray", "ct"):
        rows = (X["modality"] == modality).to_numpy()
        pixels = ScanPreprocessor(16, channels=1, normalize="none").transform(X[rows]).reshape(rows.sum(), -1)
        cv = StratifiedGroupKFold(5, shuffle=True, random_state=0)
        scores = cross_val_score(
            LogisticRegression(C=1.0, max_iter=3000), pixels, y[rows], cv=cv, groups=X["patient"][rows]
        )
        assert 0.58 < scores.mean() < 0.95, (modality, scores)
