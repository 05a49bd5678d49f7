"""Shared, seeded fixtures for the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REAL_DATA = Path(
    os.environ.get(
        "SKCOVID_REAL_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data" / "covid-scans"
    )
)


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt, as in a terminal, even when the suite was started in the
    background (``pytest &`` in a script: the shell then ignores SIGINT for the process, and the
    tests that simulate Ctrl-C would see nothing)."""
    import signal

    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if ignored:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(scope="session")
def real_data_dir():
    """The real images of ``../shared/data/covid-scans``; the test is skipped when absent."""
    if not (REAL_DATA / "X_Ray_Train").is_dir():
        pytest.skip(f"real data not found at {REAL_DATA} (set SKCOVID_REAL_DATA)")
    return REAL_DATA


@pytest.fixture(scope="session")
def real_xrays(real_data_dir):
    """The real X-rays: (scan table, labels, boolean mask of the Train split rows)."""
    import numpy as np

    from skcovid.datasets import load_scan_folder

    data = load_scan_folder(real_data_dir, modalities="xray")
    X, y = data.data, np.asarray(data.target)
    return X, y, (X["split"] == "train").to_numpy()


@pytest.fixture(scope="session")
def synthetic_scans():
    """A small synthetic multi-modal scan set (in memory), 120 scans of 64 px."""
    from skcovid.datasets import make_synthetic_scans

    return make_synthetic_scans(120, image_size=64, random_state=0)


@pytest.fixture(scope="session")
def synthetic_folder(tmp_path_factory):
    """The synthetic scans written in seed 000's layout; returns (folder, bunch)."""
    from skcovid.datasets import make_synthetic_scans

    folder = tmp_path_factory.mktemp("synthetic-scans")
    bunch = make_synthetic_scans(60, image_size=48, random_state=1, directory=folder)
    return folder, bunch


@pytest.fixture(scope="session")
def real_texture(real_data_dir):
    """Texture embeddings of the real scans: (E_train, y_train, E_test, y_test) by the dev split."""
    import numpy as np

    from skcovid.datasets import load_scan_folder
    from skcovid.embedders import TextureEmbedder

    bunch = load_scan_folder(real_data_dir)
    X, y = bunch.data, np.asarray(bunch.target)
    E = TextureEmbedder(n_jobs=2).fit_transform(X)
    train = (X["split"] == "train").to_numpy()
    return E[train], y[train], E[~train], y[~train]
