"""Helpers of the ``skcovid`` command tests: a small folder of scans and tiny training options."""

from __future__ import annotations

import numpy as np

#: ``skcovid train`` options that fit the multi-modal system in seconds.
TINY_MTL = [
    "--max-epochs",
    "2",
    "--cv",
    "none",
    "--image-size",
    "48",
    "--task-hidden",
    "8",
    "--shared-hidden",
    "8",
    "--head-hidden",
    "4",
    "--no-progress",
]


def write_scans(folder, n=60, random_state=0):
    """Synthetic X-ray and CT scans written in the X_Ray_Train/... layout; returns the Bunch."""
    from skcovid.datasets import make_synthetic_scans

    return make_synthetic_scans(n, image_size=48, directory=folder, random_state=random_state)


def split_rows(folder, split):
    """``(X, y)`` of one split of the folder, as the commands load it."""
    from skcovid.datasets import load_scan_folder

    bunch = load_scan_folder(folder)
    rows = (bunch.data["split"] == split).to_numpy()
    return bunch.data[rows].reset_index(drop=True), np.asarray(bunch.target)[rows]
