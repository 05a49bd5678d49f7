"""A torch Dataset over a scan table, decoding and preprocessing in the loader's workers."""

from __future__ import annotations

import numpy as np

from ..utils import check_scan_table

try:  # torch is a core dependency, but keep import errors readable
    from torch.utils.data import Dataset
except ImportError:  # pragma: no cover
    Dataset = object


class ScanDataset(Dataset):
    """Torch dataset of preprocessed scans (and targets, and masks).

    Images are read and preprocessed lazily in ``__getitem__`` so that a
    :class:`torch.utils.data.DataLoader` with ``num_workers`` decodes in parallel.

    Parameters
    ----------
    X : scan table, array of images, or list of paths/arrays
    preprocessor : callable
        ``preprocessor(image, modality) -> (C, H, W) array``, e.g. a :class:`ScanPreprocessor`.
    y : array-like, optional
        Targets; ``__getitem__`` returns ``(x, y_i)``, or ``(x, 0)`` when None (skorch's convention).
    with_masks : bool, default=False
        Return ``(x, (y_i, mask, has_mask))`` with the mask resized by the preprocessor's
        ``resize_mask``; rows without a mask (NaN) get an all-zero mask and ``has_mask=0``.
    augment : callable, optional
        Applied to the image tensor (training-time augmentation, e.g. torchvision v2
        transforms). With masks, it is applied to image and mask together as
        ``augment(x, mask)`` and must return both.
    """

    def __init__(self, X, preprocessor, y=None, *, with_masks=False, augment=None):
        table = check_scan_table(X)
        self.images = table["image"].to_numpy()
        self.modalities = (
            table["modality"].to_numpy() if "modality" in table.columns else np.full(len(table), None)
        )
        self.masks = table["mask"].to_numpy() if ("mask" in table.columns and with_masks) else None
        if with_masks and self.masks is None:
            self.masks = np.full(len(table), np.nan, dtype=object)
        self.preprocessor = preprocessor
        self.y = None if y is None else np.asarray(y)
        if self.y is not None and len(self.y) != len(self.images):
            raise ValueError(f"X has {len(self.images)} scans but y has {len(self.y)} entries.")
        self.with_masks = with_masks
        self.augment = augment

    def __len__(self):
        return len(self.images)

    def _mask(self, index, shape):
        import torch

        mask = self.masks[index]
        if mask is None or (isinstance(mask, float) and np.isnan(mask)):
            return torch.zeros((1,) + shape), torch.tensor(0.0)
        return torch.from_numpy(self.preprocessor.resize_mask(mask))[None], torch.tensor(1.0)

    def __getitem__(self, index):
        import torch

        x = torch.from_numpy(self.preprocessor(self.images[index], self.modalities[index]))
        target = 0 if self.y is None else self.y[index]
        if isinstance(target, np.ndarray):
            target = torch.from_numpy(target)
        if not self.with_masks:
            if self.augment is not None:
                x = self.augment(x)
            return x, target
        mask, has_mask = self._mask(index, tuple(x.shape[-2:]))
        if self.augment is not None:
            x, mask = self.augment(x, mask)
        return x, (target, mask, has_mask)
