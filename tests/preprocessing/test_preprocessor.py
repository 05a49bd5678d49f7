import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from skcovid.preprocessing import IMAGENET_MEAN, IMAGENET_STD, ScanDataset, ScanPreprocessor


def test_transform_shapes_and_normalisation():
    images = np.full((3, 50, 40), 255, np.uint8)
    out = ScanPreprocessor(image_size=(24, 20)).fit_transform(images)
    assert out.shape == (3, 3, 24, 20) and out.dtype == np.float32
    expected = (1.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(out[0, :, 0, 0], expected, rtol=1e-5)
    gray = ScanPreprocessor(16, channels=1, normalize="none").transform(images)
    assert gray.shape == (3, 1, 16, 16) and np.allclose(gray, 1.0)
    z = ScanPreprocessor(16, channels=1, normalize="per_image").transform(
        np.random.default_rng(0).random((2, 20, 20))
    )
    assert abs(z.mean()) < 1e-4 and z.std() == pytest.approx(1.0, abs=1e-2)
    custom = ScanPreprocessor(8, channels=1, normalize=(0.5, 0.5)).transform(images)
    assert np.allclose(custom, 1.0)


def test_ct_opening_removes_thin_bright_lines():
    image = np.zeros((64, 64), np.float32)
    image[40, :] = 1.0  # one-pixel scanner table
    image[10:30, 10:30] = 1.0  # a large structure
    table = pd.DataFrame({"image": [image, image], "modality": ["ct", "xray"]})
    out = ScanPreprocessor(64, channels=1, normalize="none", ct_opening=3).transform(table)
    assert out[0, 0, 40].max() == 0.0  # CT row: the line is gone
    assert out[0, 0, 20, 20] == 1.0  # the large structure stays
    assert out[1, 0, 40].max() == 1.0  # the X-ray row is untouched


def test_ct_window():
    hu = np.array([[-1000.0, 40.0], [440.0, 2000.0]], dtype=np.float32)
    pre = ScanPreprocessor(2, channels=1, normalize="none", ct_window=(40, 800))
    out = pre.preprocess_gray(hu, "ct")
    np.testing.assert_allclose(out, [[0.0, 0.5], [1.0, 1.0]])


def test_clahe_changes_contrast():
    pytest.importorskip("skimage")
    rng = np.random.default_rng(0)
    image = (0.4 + 0.05 * rng.random((64, 64))).astype(np.float32)
    plain = ScanPreprocessor(64, channels=1, normalize="none").transform(image[None])
    enhanced = ScanPreprocessor(64, channels=1, normalize="none", clahe=True).transform(image[None])
    assert enhanced.std() > 2 * plain.std()


def test_params_validated_and_clone():
    with pytest.raises(ValueError, match="image_size"):
        ScanPreprocessor(image_size=2).fit()
    with pytest.raises(ValueError, match="normalize"):
        ScanPreprocessor(normalize="zscore").fit()
    pre = clone(ScanPreprocessor(32, clahe=True))
    assert pre.get_params()["clahe"] is True


def test_resize_mask_is_binary():
    mask = np.zeros((30, 30), np.uint8)
    mask[5:20, 5:20] = 255
    out = ScanPreprocessor(16).resize_mask(mask)
    assert out.shape == (16, 16) and set(np.unique(out)) == {0.0, 1.0}


def test_dataset_with_masks(synthetic_scans):
    import torch

    X = synthetic_scans.data.iloc[:4].copy()
    X.loc[X.index[1], "mask"] = np.nan
    pre = ScanPreprocessor(32)
    dataset = ScanDataset(X, pre, y=np.arange(4), with_masks=True)
    x, (y, mask, has_mask) = dataset[1]
    assert x.shape == (3, 32, 32) and mask.shape == (1, 32, 32) and y == 1
    assert has_mask.item() == 0.0 and mask.sum() == 0
    assert dataset[0][1][2].item() == 1.0
    loader = torch.utils.data.DataLoader(ScanDataset(X, pre), batch_size=2)
    batch, _ = next(iter(loader))
    assert batch.shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="y has 3"):
        ScanDataset(X, pre, y=[0, 1, 2])


@pytest.mark.real_data
def test_real_table(real_data_dir):
    from skcovid.datasets import load_scan_folder

    X = load_scan_folder(real_data_dir, split="test", modalities="ct").data.iloc[:5]
    out = ScanPreprocessor(64, ct_opening=3).transform(X)
    assert out.shape == (5, 3, 64, 64) and np.isfinite(out).all()
