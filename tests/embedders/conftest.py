"""Fixtures of the embedder tests: an empty in-process cache and counter, one torch thread."""

import pytest
import torch

from skcovid.embedders import reset_forward_pass_count
from skcovid.embedders._cache import _MEMORY


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # The tests forward tiny batches (32-64 px), where a second thread mostly adds
    # synchronisation; on a shared 2-core machine two threads were up to 30x slower.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _fresh_cache():
    _MEMORY.clear()  # built networks stay shared: they are deterministic given their spec
    reset_forward_pass_count()
    yield
    _MEMORY.clear()


@pytest.fixture(scope="module")
def small_scans(synthetic_scans):
    """12 synthetic scans of both modalities with a shuffled, non-default index."""
    X = synthetic_scans.data.iloc[::10].copy()
    X.index = [f"scan-{i}" for i in range(len(X))][::-1]
    return X, synthetic_scans.target[::10]
