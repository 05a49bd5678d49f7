"""Torch helpers: device choice and seeding, shared by every torch-backed estimator."""

from __future__ import annotations

import random
from contextlib import contextmanager

import numpy as np
from sklearn.utils import check_random_state


def resolve_device(device="auto"):
    """Return the torch device string to use.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"} or torch.device, default="auto"
        ``"auto"`` picks CUDA when it is available and the CPU otherwise.

    Returns
    -------
    str
        A device string torch understands.

    Raises
    ------
    ValueError
        When a CUDA device is asked for but none is available.

    Examples
    --------
    >>> from skcovid.utils import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    import torch

    name = str(device) if device is not None else "auto"
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was asked for but torch sees no CUDA device; "
            "use device='cpu' or device='auto'."
        )
    return name


def seed_everything(random_state):
    """Seed torch, numpy's legacy generator and ``random`` from ``random_state``.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        ``None`` leaves the generators alone and returns a fresh seed.

    Returns
    -------
    int
        The integer seed used (also to seed data loaders).
    """
    import torch

    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    if random_state is not None:
        torch.manual_seed(seed)
        np.random.seed(seed % (2**32 - 1))  # noqa: NPY002 - code that still uses the global RNG
        random.seed(seed)
    return seed


def torch_generator(random_state):
    """Return a :class:`torch.Generator` seeded from ``random_state`` (or None for None)."""
    import torch

    if random_state is None:
        return None
    generator = torch.Generator()
    generator.manual_seed(int(check_random_state(random_state).randint(0, 2**31 - 1)))
    return generator


@contextmanager
def one_cpu_thread():
    """Run torch on one CPU thread inside the block (restored on exit).

    Small networks train faster so: on a busy machine several OpenMP threads spin and crawl.
    torch's thread count is process-wide.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
