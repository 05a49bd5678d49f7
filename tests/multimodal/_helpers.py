"""Helpers of the multimodal, common and demo tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def one_torch_thread():
    """Run torch on one thread: tiny networks train faster so on a busy machine."""
    from skcovid.utils._torch import one_cpu_thread

    return one_cpu_thread()


def make_embeddings(
    n=400,
    n_features=16,
    *,
    modality_shift=3.0,
    modality_dims=8,
    modality_shape=False,
    label_shift=1.5,
    random_state=0,
):
    """Gaussian 'embeddings': a modality offset on some columns, a label signal on two others.

    With ``modality_shape``, the X-ray rows' modality columns are bimodal (the CT rows'
    stay Gaussian) and the label signal has the opposite sign in the two modalities, so
    that the modality stays visible after per-modality standardisation and an encoder
    that learns the diagnosis has to read it.
    Each patient has two scans (one per modality, same label), so patient grouping matters.
    """
    rng = np.random.RandomState(random_state)
    n_patients = n // 2
    label = rng.randint(2, size=n_patients).repeat(2)
    modality = np.tile([0, 1], n_patients)
    X = rng.randn(n, n_features)
    X[:, :modality_dims] += modality_shift * modality[:, None]
    if modality_shape:
        xray = modality == 1
        X[xray, :modality_dims] = 2.0 * np.sign(X[xray, :modality_dims]) + 0.3 * X[xray, :modality_dims]
    sign = np.where(modality_shape & (modality == 0), -1.0, 1.0)[:, None]
    X[:, modality_dims : modality_dims + 2] += sign * label_shift * (2 * label[:, None] - 1)
    frame = pd.DataFrame(X, columns=[f"emb_{i}" for i in range(n_features)])
    frame["modality"] = np.where(modality == 1, "xray", "ct")
    frame["patient"] = [f"p{i:04d}" for i in np.arange(n_patients).repeat(2)]
    frame.index = pd.Index(rng.permutation(n) + 1000, name="scan")
    return frame, np.where(label == 1, "COVID", "Non_COVID")
