"""Tiny fitted skcovid image estimators shared by the Grad-CAM, ONNX and ``skcovid predict`` tests.

The test folders load this file by its path (``importlib.util.spec_from_file_location``), so
it works whatever pytest's import mode; it is not a test module.
"""

from __future__ import annotations

KINDS = ("ImageClassifier", "MultiTaskUNet", "DRENetClassifier", "FineTunedEmbedder")

TRAINING = {"max_epochs": 1, "batch_size": 8, "validation_fraction": None, "random_state": 0, "device": "cpu"}


def tiny_scans(n_samples=16, image_size=40, random_state=0):
    """Synthetic X-rays (with lung masks) as a scan table and labels."""
    from skcovid.datasets import make_synthetic_scans

    data = make_synthetic_scans(n_samples, modalities=("xray",), image_size=image_size,
                                random_state=random_state)
    return data.data, data.target.to_numpy()


def make_tiny(kind, **params):
    """An unfitted tiny estimator of ``kind`` (32 px, one epoch, random weights)."""
    from skcovid.embedders import FineTunedEmbedder
    from skcovid.nets import DRENetClassifier, ImageClassifier, MultiTaskUNet

    if kind == "ImageClassifier":
        return ImageClassifier(weights=None, image_size=32, head_hidden=(8,), **{**TRAINING, **params})
    if kind == "MultiTaskUNet":
        return MultiTaskUNet(channels=(4, 8, 16), head_hidden=(8,), head_dropout=0.2, image_size=32,
                             **{**TRAINING, **params})
    if kind == "DRENetClassifier":
        return DRENetClassifier("resnet18", weights=None, fpn_channels=8, head_channels=8, image_size=32,
                                **{**TRAINING, **params})
    if kind == "FineTunedEmbedder":
        return FineTunedEmbedder(hidden=8, image_size=32, **{**TRAINING, **params})
    raise ValueError(f"unknown kind {kind!r}")


def one_thread():
    """Run torch on one thread: tiny networks train faster so on a busy machine."""
    from skcovid.utils._torch import one_cpu_thread

    return one_cpu_thread()


def fit_tiny(kind, X=None, y=None, **params):
    """A tiny estimator of ``kind`` fitted on ``(X, y)`` (default: 16 synthetic X-rays)."""
    if X is None:
        X, y = tiny_scans()
    with one_thread():
        return make_tiny(kind, **params).fit(X, y)
