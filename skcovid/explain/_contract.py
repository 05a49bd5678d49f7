"""What Grad-CAM, ONNX export and ``skcovid predict`` need from a fitted image estimator.

Every fitted torch image estimator of skcovid (``ImageClassifier``, ``MultiTaskUNet``,
``DRENetClassifier``, ``FineTunedEmbedder``) exposes ``module_`` (a ``torch.nn.Module``
mapping ``(N, C, H, W)`` to class logits, or to ``(class_logits, mask_logits)``),
``preprocessor_`` (a fitted ``ScanPreprocessor``), ``classes_`` and ``device_``. No torch
import in this module.
"""

from __future__ import annotations

import numpy as np

CONTRACT = ("module_", "preprocessor_", "classes_")


def check_image_estimator(estimator, *, what="This function"):
    """Raise a clear error unless ``estimator`` is a fitted skcovid torch image estimator."""
    missing = [name for name in CONTRACT if not hasattr(estimator, name)]
    if missing:
        raise TypeError(
            f"{what} needs a fitted skcovid image estimator (ImageClassifier, MultiTaskUNet, "
            f"DRENetClassifier or FineTunedEmbedder) exposing {', '.join(CONTRACT)}; got a "
            f"{type(estimator).__name__} without {', '.join(missing)}. Fit the estimator first."
        )
    return estimator


def is_multilabel(estimator):
    """Whether the estimator's class outputs are independent sigmoids (multi-label)."""
    for name in ("multilabel_", "multilabel"):
        value = getattr(estimator, name, None)
        if value is not None and not callable(value):
            return bool(value)
    return False


def estimator_device(estimator):
    """The torch device string the estimator's module lives on (``"cpu"`` by default)."""
    device = getattr(estimator, "device_", None)
    return "cpu" if device is None else str(device)


def split_outputs(output):
    """Split a module's output into ``(class_logits, mask_logits or None)``."""
    if isinstance(output, (tuple, list)):
        if not output:
            raise ValueError("The module returned an empty tuple; expected class logits first.")
        return output[0], (output[1] if len(output) > 1 else None)
    if isinstance(output, dict):
        logits = output.get("class_logits", output.get("logits"))
        if logits is None:
            raise ValueError(
                f"The module returned a dict with keys {sorted(output)}; expected 'class_logits'."
            )
        return logits, output.get("mask_logits", output.get("mask"))
    return output, None


def class_index(classes, target):
    """The column index of ``target``: a class label first, else an integer index."""
    classes = np.asarray(classes)
    matches = np.flatnonzero(classes == target) if np.ndim(target) == 0 else []
    if len(matches):
        return int(matches[0])
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if -len(classes) <= int(target) < len(classes):
            return int(target) % len(classes)
    raise ValueError(
        f"Unknown target {target!r}: give a class label among {classes.tolist()} or an "
        f"integer index in [0, {len(classes)}), or None for the predicted class."
    )
