"""MultiTaskUNet: scan classification and lung segmentation with one residual UNet."""

from __future__ import annotations

from numbers import Integral, Real
from pathlib import Path

import numpy as np

from ..metrics import dice_score
from ..modules._unet import MultiTaskLoss, MultiTaskUNetModule
from ..preprocessing import IMAGE_EXTENSIONS, read_scan
from ..utils import check_scan_table
from ..utils._param_validation import Interval
from ._base import CLASS_WEIGHT_CONSTRAINT, BaseImageNet, shared_params


def _has_mask(value):
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _image_shape(image):
    """(height, width) of a scan without fully decoding PNG/JPEG files."""
    if isinstance(image, (str, Path)) and Path(image).suffix.lower() in IMAGE_EXTENSIONS:
        from PIL import Image

        with Image.open(image) as handle:
            width, height = handle.size
        return height, width
    return read_scan(image).shape


class MultiTaskUNet(BaseImageNet):
    """Classify scans and segment the lungs with one residual UNet.

    A UNet encoder of residual units (widths ``channels``, batch norm, dropout) feeds a
    classification head (global average pooling of the bottleneck, then
    ``256 -> 128 -> n_classes`` with batch norm and dropout 0.5 / 0.3 / 0.2) and a decoder
    whose segmentation head (``64 -> 32 -> 1`` channels with the default widths) gives a
    lung-mask logit per pixel. The loss is
    ``seg_weight * (Dice + BCE) + cls_weight * class-weighted cross-entropy``; scans
    without a mask (``X["mask"]`` NaN) still train the classifier, their mask loss is
    skipped.

    Parameters
    ----------
    channels : tuple of int, default=(32, 64, 128, 256, 512)
        Widths of the encoder levels (tiny ones such as ``(4, 8, 16)`` for tests). Note
        that here ``channels`` is the network width; the number of image channels is
        ``in_channels``.
    in_channels : int, default=1
        Channels of the preprocessed images (the gray scan replicated; 3 for RGB-style input).
    dropout : float, default=0.1
        Dropout inside the residual units.
    head_hidden : tuple of int, default=(256, 128)
    head_dropout : float or tuple of float, default=(0.5, 0.3, 0.2)
    seg_weight, cls_weight : float, default=1.0, 2.0
        Weights of the segmentation (Dice + BCE) and classification (cross-entropy) losses.
    class_weight : None, "balanced" or dict, default="balanced"
        Class weights of the cross-entropy.
    image_size, clahe, ct_opening, normalize, augment, max_epochs, lr, batch_size, optimizer, \
weight_decay, device, callbacks, checkpoint, num_workers, random_state, validation_fraction, patience, \
precision, lr_schedule, warmup_epochs, monitor, image_cache_mb, verbose
        As :class:`ImageClassifier` (a callable ``augment`` is called as ``augment(x, mask)``
        and returns both). ``history_`` also records ``valid_dice``.

    Attributes
    ----------
    classes_, module_, preprocessor_, device_, net_, history_, fit_interrupted_
        As :class:`ImageClassifier`; ``module_`` returns ``(class_logits, mask_logits)``.

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans
    >>> from skcovid.nets import MultiTaskUNet
    >>> data = make_synthetic_scans(12, modalities="xray", image_size=32, random_state=0)
    >>> unet = MultiTaskUNet(channels=(4, 8), image_size=32, max_epochs=1, random_state=0)
    >>> unet.fit(data.data, data.target).predict_mask(data.data).shape
    (12, 32, 32)
    """

    _parameter_constraints = {
        **BaseImageNet._parameter_constraints,
        "channels": [tuple, list],
        "in_channels": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "head_hidden": [tuple, list],
        "head_dropout": [Interval(Real, 0, 1, closed="left"), tuple, list],
        "seg_weight": [Interval(Real, 0, None, closed="left")],
        "cls_weight": [Interval(Real, 0, None, closed="left")],
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
    }
    _with_masks = True

    def __init__(self, channels=(32, 64, 128, 256, 512), *, in_channels=1, dropout=0.1,
                 head_hidden=(256, 128), head_dropout=(0.5, 0.3, 0.2), seg_weight=1.0, cls_weight=2.0,
                 class_weight="balanced", image_size=256, clahe=False, ct_opening=0, normalize="imagenet",
                 augment=None, max_epochs=10, lr=1e-3, batch_size=16, optimizer="adamw", weight_decay=0.0,
                 device="auto", callbacks=None, checkpoint=None, num_workers=0, random_state=None,
                 validation_fraction=0.1, patience=5,
                 precision="fp32", lr_schedule=None, warmup_epochs=1.0, monitor="valid_loss",
                 image_cache_mb=1024, verbose=0):
        super().__init__(**shared_params(locals()))
        self.in_channels = in_channels
        self.dropout = dropout
        self.head_hidden = head_hidden
        self.head_dropout = head_dropout
        self.seg_weight = seg_weight
        self.cls_weight = cls_weight
        self.class_weight = class_weight

    def _image_channels(self):
        return self.in_channels

    def _check_table(self, table):
        if "mask" not in table.columns:
            raise ValueError(
                "MultiTaskUNet needs a 'mask' column in X (lung mask paths or arrays, NaN for scans "
                "without one); load_scan_folder and load_radiography_database add it. "
                "For classification only use ImageClassifier."
            )
        if not any(_has_mask(m) for m in table["mask"]):
            raise ValueError("No scan in X has a lung mask (X['mask'] is all NaN): the segmentation head "
                             "cannot learn. Add masks, or use ImageClassifier for classification only.")
        return table

    def _build_module(self, seed):
        return MultiTaskUNetModule, {
            "in_channels": self.in_channels, "n_classes": len(self.classes_), "channels": self.channels,
            "dropout": self.dropout, "head_hidden": self.head_hidden, "head_dropout": self.head_dropout,
            "random_state": seed,
        }

    def _build_criterion(self, y):
        return MultiTaskLoss(self.seg_weight, self.cls_weight,
                             class_weight=self._class_weights(y, self.class_weight))

    # ----------------------------------------------------------------- masks
    def predict_mask_proba(self, X):
        """Lung probability of each pixel at the network resolution, shape (n_scans, H, W), float32."""
        import torch

        return np.concatenate([torch.sigmoid(masks[:, 0]).numpy()
                               for _, masks in self._map_batches(X)])

    def predict_mask(self, X, *, threshold=0.5, original_size=False):
        """Predicted lung masks.

        Parameters
        ----------
        X : scan table or images
        threshold : float, default=0.5
            Pixels with a lung probability at or above it are in the mask.
        original_size : bool, default=False
            Resize each probability map (bilinear) back to its scan's own size before
            thresholding.

        Returns
        -------
        ndarray of shape (n_scans, H, W), bool, or list of bool arrays
            At the network resolution (``preprocessor_.size_``), or a list of masks of each
            scan's original size when ``original_size``.
        """
        import torch
        import torch.nn.functional as F

        proba = self.predict_mask_proba(X)
        if not original_size:
            return proba >= threshold
        masks = []
        for prob, image in zip(proba, check_scan_table(X)["image"]):
            size = tuple(int(s) for s in _image_shape(image))
            resized = F.interpolate(torch.from_numpy(prob)[None, None], size=size, mode="bilinear",
                                    align_corners=False)[0, 0].numpy()
            masks.append(resized >= threshold)
        return masks

    def score_report(self, X, y):
        """Accuracy of the classes and mean Dice of the lung masks.

        ``score(X, y)`` returns the accuracy alone (scikit-learn's convention for
        classifiers); this method gives both. Dice is computed at the network resolution
        against ``X["mask"]`` resized the same way, over the scans that have a mask.

        Parameters
        ----------
        X : scan table with a ``mask`` column
        y : array-like of shape (n_scans,)

        Returns
        -------
        dict
            ``accuracy``, ``dice`` (NaN when no scan has a mask) and ``n_masks``.
        """
        table = check_scan_table(X)
        y = np.asarray(y)
        if len(y) != len(table):
            raise ValueError(f"X has {len(table)} scans but y has {len(y)} labels.")
        logits, masks_pred = [], []
        for class_logits, mask_logits in self._map_batches(table):
            logits.append(class_logits.numpy())
            masks_pred.append(mask_logits[:, 0].numpy() > 0)
        accuracy = float(np.mean(self.classes_[np.argmax(np.concatenate(logits), axis=1)] == y))
        rows = [i for i, m in enumerate(table.get("mask", [np.nan] * len(table))) if _has_mask(m)]
        predicted = np.concatenate(masks_pred)
        truth = [self.preprocessor_.resize_mask(table["mask"].iloc[i]) > 0.5 for i in rows]
        dice = dice_score(truth, [predicted[i] for i in rows]) if rows else float("nan")
        return {"accuracy": accuracy, "dice": float(dice), "n_masks": len(rows)}
