"""Fixtures for the Grad-CAM tests: synthetic scans with a bright lesion, a stand-in estimator."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from skcovid.preprocessing import ScanPreprocessor

BLOB_RADIUS = 4


def make_blob_scans(n_samples, size=48, *, random_state=0):
    """Noisy gray scans; class "COVID" has a bright disc (the lesion) at a random place.

    Returns (images uint8 (n, size, size), labels, centres (n, 2) as (row, col) or -1, radius).
    """
    rng = np.random.default_rng(random_state)
    rows, cols = np.mgrid[:size, :size]
    images = np.empty((n_samples, size, size), dtype=np.uint8)
    labels = np.where(np.arange(n_samples) % 2 == 0, "COVID", "Non_COVID")
    centres = np.full((n_samples, 2), -1)
    for i in range(n_samples):
        image = 60 + 25 * rng.standard_normal((size, size))
        if labels[i] == "COVID":
            centre = rng.integers(BLOB_RADIUS + 2, size - BLOB_RADIUS - 2, size=2)
            disc = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= BLOB_RADIUS**2
            image[disc] += 150
            centres[i] = centre
        images[i] = np.clip(image, 0, 255).astype(np.uint8)
    return images, labels, centres, BLOB_RADIUS


class StandInEstimator:
    """A fitted-looking object following skcovid's image-estimator contract."""

    def __init__(self, module, classes=("COVID", "Non_COVID"), image_size=32, multilabel=False):
        self.module_ = module
        self.preprocessor_ = ScanPreprocessor(image_size).fit()
        self.classes_ = np.asarray(classes)
        self.device_ = "cpu"
        self.multilabel = multilabel


class TwoHeadNet(nn.Module):
    """Class logits from the encoder, mask logits from a segmentation conv (like the UNet)."""

    def __init__(self, n_classes=2, fail=False):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
            nn.Conv2d(4, 8, 3, padding=1, stride=2), nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(8, n_classes)
        self.seg = nn.Conv2d(8, 1, 1)
        self.fail = fail

    def forward(self, x):
        features = self.encoder(x)
        if self.fail:
            raise RuntimeError("forward failed on purpose")
        return self.head(features.mean(dim=(2, 3))), self.seg(features)


def blob_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8, 2),
    )


@pytest.fixture(scope="module")
def blob_data():
    return make_blob_scans(96, random_state=0)


@pytest.fixture(scope="module")
def trained_blob_standin(blob_data, tiny):
    """A tiny CNN trained (plain torch) to tell scans with the lesion from scans without."""
    with tiny.one_thread():
        return _train_blob_standin(*blob_data[:2])


def _train_blob_standin(images, labels):
    torch.manual_seed(0)
    estimator = StandInEstimator(blob_cnn(), image_size=48)
    x = torch.from_numpy(estimator.preprocessor_.transform(images))
    y = torch.from_numpy((labels == "Non_COVID").astype(np.int64))
    optimizer = torch.optim.Adam(estimator.module_.parameters(), lr=1e-2)
    for _ in range(40):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(estimator.module_(x), y)
        loss.backward()
        optimizer.step()
    estimator.module_.eval()
    with torch.no_grad():
        accuracy = float((estimator.module_(x).argmax(1) == y).float().mean())
    assert accuracy > 0.95, accuracy
    return estimator


@pytest.fixture
def two_head_standin():
    """A factory of stand-ins whose module returns (class_logits, mask_logits)."""

    def make(*, fail=False, multilabel=False, n_classes=2):
        torch.manual_seed(0)
        classes = ["COVID", "Non_COVID", "Other"][:n_classes]
        return StandInEstimator(TwoHeadNet(n_classes, fail=fail), classes, multilabel=multilabel)

    return make


@pytest.fixture(scope="session")
def tiny():
    """The helper module of tiny fitted estimators (tests/explain/_tiny_estimators.py)."""
    return SimpleNamespace(**runpy.run_path(str(Path(__file__).with_name("_tiny_estimators.py"))))


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread(tiny):
    """Everything on one torch thread: two OpenMP threads on a busy 2-core machine crawl."""
    with tiny.one_thread():
        yield
