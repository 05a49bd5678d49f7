"""One real two-process cluster for every test of this folder (started once: it takes seconds)."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")


@pytest.fixture(scope="session")
def client():
    """A ``distributed.LocalCluster`` of 2 worker processes x 1 thread, no dashboard."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"OMP_NUM_THREADS": "1"}) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="session")
def scans(synthetic_folder):
    """The synthetic scans on disk as a scan table of paths (image, modality, patient) and labels."""
    from skcovid.datasets import load_scan_folder

    bunch = load_scan_folder(synthetic_folder[0])
    return bunch.data[["image", "modality", "patient"]], bunch.target
