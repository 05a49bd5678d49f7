"""Fixtures of the image-estimator tests."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Train on one thread: on a shared 2-core machine two OpenMP threads spin and crawl."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
