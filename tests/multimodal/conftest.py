"""Fixtures of the multimodal tests: tabular embedding-like data and one torch thread."""

from __future__ import annotations

import pytest

from ._helpers import make_embeddings, one_torch_thread


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Module-scoped so that it is in place before the module-scoped fitted fixtures."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def embeddings():
    """400 rows, 16 features, 200 patients with one X-ray and one CT each."""
    return make_embeddings()
