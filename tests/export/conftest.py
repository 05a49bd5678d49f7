"""Fixtures of the ONNX tests: tiny fitted estimators (from tests/explain/_tiny_estimators.py)."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.fixture(scope="session")
def tiny():
    helpers = Path(__file__).parents[1] / "explain" / "_tiny_estimators.py"
    return SimpleNamespace(**runpy.run_path(str(helpers)))


@pytest.fixture(scope="session")
def scans(tiny):
    return tiny.tiny_scans()


@pytest.fixture(scope="session")
def classifier(tiny, scans):
    return tiny.fit_tiny("ImageClassifier", *scans)


@pytest.fixture(scope="session")
def unet(tiny, scans):
    return tiny.fit_tiny("MultiTaskUNet", *scans)


@pytest.fixture(scope="session")
def exported_classifier(classifier, tmp_path_factory):
    from skcovid.export import export_onnx

    return export_onnx(classifier, tmp_path_factory.mktemp("onnx") / "classifier.onnx")


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread(tiny):
    """Everything on one torch thread: two OpenMP threads on a busy 2-core machine crawl."""
    with tiny.one_thread():
        yield
