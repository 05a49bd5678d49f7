"""The built-in synthetic data: procedural chest X-rays and CT slices with COVID-like lesions."""

from __future__ import annotations

from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import zoom
from sklearn.utils import check_random_state

from ..utils import check_modality
from ..utils._param_validation import Interval, validate_params
from ._common import make_bunch
from ._split import patient_split_labels

LABELS = ("COVID", "Non_COVID")
_FOLDERS = {
    ("xray", "train"): "X_Ray_Train",
    ("xray", "test"): "X_Ray_Test",
    ("ct", "train"): "CT_Scan_Train",
    ("ct", "test"): "CT_Scan_Test",
}


def _grid(size):
    axis = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    return np.meshgrid(axis, axis, indexing="ij")  # yy (rows), xx (cols)


def _ellipse(yy, xx, cy, cx, ry, rx, softness=0.04):
    """A soft-edged ellipse in [0, 1]."""
    r = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    return 1.0 / (1.0 + np.exp(np.minimum((r - 1.0) / softness, 50.0)))


def _blob(yy, xx, cy, cx, sigma):
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2.0 * sigma**2))


def _smooth_field(rng, size, cells=6):
    return zoom(rng.standard_normal((cells, cells)).astype(np.float32), size / cells, order=3)[:size, :size]


def _lesions(rng, yy, xx, lungs, lung_centres, *, peripheral, severity):
    """Patchy opacities: near the lungs' outer edge when peripheral, else near the hila."""
    texture = np.clip(0.55 + 0.45 * _smooth_field(rng, yy.shape[0], cells=12), 0.0, 1.0)
    field = np.zeros_like(yy)
    for _ in range(rng.integers(1, 6)):
        cy, cx, ry, rx, side = lung_centres[rng.integers(len(lung_centres))]
        angle = rng.uniform(-0.2 * np.pi, 1.2 * np.pi) if peripheral else rng.uniform(0, 2 * np.pi)
        reach = rng.uniform(0.65, 0.95) if peripheral else rng.uniform(0.0, 0.35)
        # lateral (away from the midline) and lower zones for peripheral lesions
        ly = cy + reach * ry * np.sin(angle) * (1 if peripheral else 0.6)
        lx = cx + side * reach * rx * abs(np.cos(angle))
        field += rng.uniform(0.4, 1.0) * _blob(yy, xx, ly, lx, rng.uniform(0.06, 0.16))
    return severity * np.clip(field, 0.0, 1.5) * texture * lungs


def _xray(rng, size, anatomy, severity, peripheral):
    yy, xx = _grid(size)
    width = anatomy["width"]
    image = 0.08 + 0.42 * _ellipse(yy, xx, 0.05, 0.0, 0.98, 0.86 * width, 0.05)
    lung_centres = [
        (-0.05, -0.38 * width, 0.55, 0.27 * width, -1),
        (-0.05, 0.38 * width, 0.52, 0.25 * width, 1),
    ]
    lungs = np.maximum(*[_ellipse(yy, xx, cy, cx, ry, rx, 0.03) for cy, cx, ry, rx, _ in lung_centres])
    image = image * (1.0 - 0.7 * lungs)
    image += 0.25 * _ellipse(yy, xx, 0.0, 0.0, 0.9, 0.07, 0.05)  # spine and mediastinum
    image += 0.18 * _ellipse(yy, xx, 0.28, 0.1 * width, 0.22, 0.22 * width, 0.06)  # heart
    for k in range(7):  # ribs: curved bright bands over the lungs
        y0 = -0.55 + 0.17 * k + anatomy["rib_shift"]
        band = np.exp(-((yy - (y0 + 0.25 * xx**2)) ** 2) / (2 * 0.018**2))
        image += 0.09 * band * lungs
    if severity > 0:
        image += _lesions(rng, yy, xx, lungs, lung_centres, peripheral=peripheral, severity=severity)
    mask = (lungs > 0.5).astype(np.uint8)
    return image, mask


def _ct(rng, size, anatomy, severity, peripheral):
    yy, xx = _grid(size)
    width = anatomy["width"]
    body = _ellipse(yy, xx, 0.0, 0.0, 0.62, 0.86 * width, 0.02)
    image = 0.02 + 0.5 * body
    lung_centres = [(-0.04, -0.4 * width, 0.43, 0.3 * width, -1), (-0.04, 0.4 * width, 0.43, 0.28 * width, 1)]
    lungs = np.maximum(*[_ellipse(yy, xx, cy, cx, ry, rx, 0.02) for cy, cx, ry, rx, _ in lung_centres])
    image = image * (1.0 - 0.85 * lungs)
    for _ in range(rng.integers(25, 45)):  # vessels: small bright dots in the lungs
        cy, cx, ry, rx, _side = lung_centres[rng.integers(2)]
        r, a = np.sqrt(rng.uniform(0, 0.8)), rng.uniform(0, 2 * np.pi)
        image += (
            0.3
            * _blob(yy, xx, cy + r * ry * np.sin(a), cx + r * rx * np.cos(a), rng.uniform(0.008, 0.02))
            * lungs
        )
    image += 0.4 * _ellipse(yy, xx, 0.42, 0.0, 0.1, 0.1, 0.02)  # vertebra
    image += 0.25 * np.exp(-((yy - 0.78) ** 2) / (2 * 0.012**2)) * (np.abs(xx) < 0.9)  # scanner table
    if severity > 0:
        image += _lesions(rng, yy, xx, lungs, lung_centres, peripheral=peripheral, severity=0.8 * severity)
    mask = (lungs > 0.5).astype(np.uint8)
    return image, mask


def _render(rng, modality, size, anatomy, covid):
    if covid:
        # severities from barely visible to obvious: the task is learnable, not trivial
        severity, peripheral = rng.uniform(0.05, 0.7), True
    elif rng.uniform() < 0.3:  # other findings (central, non-COVID opacities)
        severity, peripheral = rng.uniform(0.05, 0.4), False
    else:
        severity, peripheral = 0.0, True
    draw = _xray if modality == "xray" else _ct
    image, mask = draw(rng, size, anatomy, severity, peripheral)
    image = anatomy["gain"] * image + anatomy["offset"]
    image += 0.04 * _smooth_field(rng, size) + rng.normal(0.0, 0.025, image.shape)
    return np.clip(image * 255.0, 0, 255).astype(np.uint8), mask


def _write_layout(frame, images, masks, directory):
    from PIL import Image

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    image_paths, mask_paths, relative = [], [], []
    for i, row in enumerate(frame.itertuples()):
        folder = _FOLDERS[(row.modality, row.split)]
        rel = f"{folder}/{row.label}/synthetic-{i:05d}.png"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i]).save(root / rel)
        image_paths.append(str(root / rel))
        relative.append(rel)
        if masks[i] is None:
            mask_paths.append(np.nan)
            continue
        mask_rel = f"masks/{rel}"
        (root / mask_rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(masks[i] * 255).save(root / mask_rel)
        mask_paths.append(str(root / mask_rel))
    meta = pd.DataFrame(
        {
            "path": relative,
            "modality": frame["modality"],
            "label": frame["label"],
            "patient": frame["patient"],
            "source": "synthetic",
            "mask": [f"masks/{r}" if isinstance(m, str) else "" for r, m in zip(relative, mask_paths)],
            "width": [im.shape[1] for im in images],
            "height": [im.shape[0] for im in images],
        }
    )
    meta.to_csv(root / "metadata.csv", index=False)
    return image_paths, mask_paths


@validate_params(
    {
        "n_samples": [Interval(Integral, 4, None, closed="left")],
        "modalities": [tuple, list, str],
        "image_size": [Interval(Integral, 16, None, closed="left")],
        "covid_fraction": [Interval(Real, 0, 1, closed="neither")],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "directory": [None, str, Path],
    },
)
def make_synthetic_scans(
    n_samples=200,
    *,
    modalities=("xray", "ct"),
    image_size=128,
    covid_fraction=0.5,
    test_size=0.25,
    random_state=None,
    directory=None,
):
    """Generate the built-in synthetic chest X-ray and CT scans.

    Procedural grayscale images: an X-ray has a body outline, dark lung fields, ribs,
    spine and heart; a CT slice has a body section, lung fields with vessels, a vertebra
    and the scanner table. COVID scans carry patchy *peripheral* opacities of random size
    and contrast (some barely visible); about a third of non-COVID scans carry *central*
    opacities (other findings), so the task is learnable but not trivial. Each patient has
    one to three scans, of either modality, and one label. Lung masks come with every scan.

    Parameters
    ----------
    n_samples : int, default=200
        Number of scans.
    modalities : tuple of str, default=("xray", "ct")
        Modalities to draw scans from.
    image_size : int, default=128
        Height and width of every image.
    covid_fraction : float, default=0.5
        Probability that a patient is COVID.
    test_size : float, default=0.25
        Share of patients whose rows get ``split == "test"`` (grouped and stratified).
    random_state : int, RandomState instance or None, default=None
        Makes the data repeatable.
    directory : str or path-like, optional
        If given, also write the folder layout (``X_Ray_Train/COVID/...``,
        ``masks/...``, ``metadata.csv``) there; the returned rows then hold paths.

    Returns
    -------
    Bunch
        As :func:`load_scan_folder`: ``frame``, ``data`` (``image`` holds uint8 arrays,
        or paths with ``directory``; ``modality``, ``patient``, ``mask``, ``split``),
        ``target`` ("COVID" / "Non_COVID"), ``target_names``.

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans
    >>> bunch = make_synthetic_scans(20, image_size=32, random_state=0)
    >>> bunch.data["image"][0].shape, sorted(bunch.data["modality"].unique())
    ((32, 32), ['ct', 'xray'])
    """
    seed = check_random_state(random_state).randint(0, 2**31 - 1)
    rng = np.random.default_rng(seed)
    modalities = [modalities] if isinstance(modalities, str) else list(modalities)
    modalities = list(dict.fromkeys(check_modality(m) for m in modalities))
    rows, images, masks = [], [], []
    patient = 0
    while len(rows) < n_samples:
        covid = rng.uniform() < covid_fraction
        anatomy = {
            "width": rng.uniform(0.85, 1.05),
            "rib_shift": rng.uniform(-0.05, 0.05),
            "gain": rng.uniform(0.8, 1.15),
            "offset": rng.uniform(-0.05, 0.08),
        }
        for _ in range(min(rng.integers(1, 4), n_samples - len(rows))):
            modality = modalities[rng.integers(len(modalities))]
            image, mask = _render(rng, modality, image_size, anatomy, covid)
            images.append(image)
            masks.append(mask)
            rows.append(
                {
                    "modality": modality,
                    "patient": f"synthetic-{patient:04d}",
                    "label": LABELS[0] if covid else LABELS[1],
                }
            )
        patient += 1
    frame = pd.DataFrame(rows)
    frame["split"] = patient_split_labels(frame["label"], frame["patient"], test_size, seed)
    if directory is not None:
        frame["image"], frame["mask"] = _write_layout(frame, images, masks, directory)
    else:
        frame["image"] = pd.Series(images, dtype=object)
        frame["mask"] = pd.Series(masks, dtype=object)
    return make_bunch(frame, description="skcovid synthetic chest X-ray and CT scans")
