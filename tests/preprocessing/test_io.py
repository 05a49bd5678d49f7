import numpy as np
import pytest
from PIL import Image

from skcovid.preprocessing import ScanReadError, read_mask, read_scan


@pytest.mark.parametrize(
    ("mode", "array", "expected_max"),
    [
        ("L", np.full((6, 5), 255, np.uint8), 1.0),
        ("I;16", np.full((6, 5), 65535, np.uint16), 1.0),
        ("RGB", np.full((6, 5, 3), 255, np.uint8), 1.0),
        ("RGBA", np.full((6, 5, 4), 255, np.uint8), 1.0),
    ],
)
def test_png_modes(tmp_path, mode, array, expected_max):
    path = tmp_path / "scan.png"
    Image.fromarray(array).save(path)
    image = read_scan(path)
    assert image.dtype == np.float32 and image.shape == (6, 5)
    assert image.max() == pytest.approx(expected_max, abs=1e-3)


def test_16bit_values_are_scaled(tmp_path):
    array = np.array([[0, 32768], [65535, 1000]], dtype=np.uint16)
    Image.fromarray(array).save(tmp_path / "a.png")
    np.testing.assert_allclose(read_scan(tmp_path / "a.png"), array / 65535.0, atol=1e-6)


def test_palette_jpeg_tiff(tmp_path):
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8))
    rgb.convert("P").save(tmp_path / "p.png")
    rgb.save(tmp_path / "a.jpg")
    Image.fromarray(np.full((8, 8), 0.5, np.float32)).save(tmp_path / "f.tif")
    for name in ("p.png", "a.jpg", "f.tif"):
        image = read_scan(tmp_path / name)
        assert image.shape == (8, 8) and image.dtype == np.float32
    assert read_scan(tmp_path / "f.tif").mean() == pytest.approx(0.5)


def test_rgb_uses_luma():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 1] = 255
    assert read_scan(rgb)[0, 0] == pytest.approx(0.587, abs=1e-3)


@pytest.mark.parametrize("shape", [(7, 9), (7, 9, 1), (1, 7, 9), (7, 9, 3), (3, 7, 9), (7, 9, 4)])
def test_array_shapes(shape):
    assert read_scan(np.zeros(shape, np.uint8)).shape == (7, 9)


def test_float_arrays_kept():
    array = np.linspace(-1, 2, 12, dtype=np.float64).reshape(3, 4)
    np.testing.assert_allclose(read_scan(array), array.astype(np.float32))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n garbage"), "corrupt|not a readable"),
    ],
)
def test_bad_files_name_the_path(tmp_path, make, match):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(ScanReadError, match=match) as info:
        read_scan(path)
    assert "bad.png" in str(info.value) and info.value.source.endswith("bad.png")


def test_truncated_png(tmp_path):
    path = tmp_path / "t.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ScanReadError, match="t.png"):
        read_scan(path)


def test_unsupported_and_bad_arrays(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(ScanReadError, match="unsupported file type"):
        read_scan(tmp_path / "a.txt")
    with pytest.raises(ScanReadError, match="NaN"):
        read_scan(np.array([[np.nan, 1.0]]))
    with pytest.raises(ScanReadError, match="shape"):
        read_scan(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ScanReadError, match="channel"):
        read_scan(np.zeros((7, 8, 9)))
    with pytest.raises(ScanReadError, match="empty"):
        read_scan(np.zeros((0, 4)))
    with pytest.raises(ScanReadError, match="folder"):
        read_scan(tmp_path)


def test_skip_mode_warns(tmp_path):
    with pytest.warns(UserWarning, match="missing.png"):
        assert read_scan(tmp_path / "missing.png", on_error="skip") is None
    with pytest.raises(ValueError, match="on_error"):
        read_scan(tmp_path / "x.png", on_error="ignore")


def test_read_mask():
    mask = np.zeros((4, 4), np.uint8)
    mask[:2] = 255
    assert read_mask(mask).sum() == 8 and read_mask(mask).dtype == bool
    assert not read_mask(np.zeros((3, 3), np.uint8)).any()


@pytest.mark.real_data
def test_real_scans_read(real_data_dir):
    path = next((real_data_dir / "X_Ray_Train" / "COVID").glob("*.png"))
    image = read_scan(path)
    assert image.ndim == 2 and 0 <= image.min() < image.max() <= 1
