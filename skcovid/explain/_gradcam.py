"""Grad-CAM heatmaps for skcovid's torch image estimators."""

from __future__ import annotations

import weakref
from contextlib import contextmanager
from numbers import Integral

import numpy as np

from ._contract import (
    check_image_estimator,
    class_index,
    estimator_device,
    is_multilabel,
    split_outputs,
)


@contextmanager
def evaluation_mode(module):
    """Put ``module`` in eval mode; restore every submodule's train/eval flag afterwards."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, flag in flags:
            m.training = flag


@contextmanager
def _capture(layers):
    """Forward hooks recording the outputs of ``layers`` ({name: module}); removed on exit.

    Each hook stores the layer's output and hands a clone downstream, so that a following
    in-place operation (``ReLU(inplace=True)``) cannot modify the stored activation.
    """
    records = []
    handles = []

    def make_hook(name):
        def hook(_module, _inputs, output):
            if not hasattr(output, "clone"):
                return None
            records.append((name, output))
            return output.clone()

        return hook

    try:
        for name, layer in layers.items():
            handles.append(layer.register_forward_hook(make_hook(name)))
        yield records
    finally:
        for handle in handles:
            handle.remove()


class GradCAM:
    """Gradient-weighted class activation maps (Selvaraju et al., 2017).

    The heatmap of a class is the ReLU of the target layer's activation maps weighted by
    the spatially averaged gradients of the class score (the logit; for multi-label models
    the label's logit). Works with every fitted skcovid torch image estimator
    (``ImageClassifier``, ``MultiTaskUNet``, whose class logits are the first output,
    ``DRENetClassifier``, ``FineTunedEmbedder``) through their ``module_`` and
    ``preprocessor_``.

    Hooks are removed and the module's train/eval flags are restored after every call, also
    when the forward pass fails; ``requires_grad`` flags are never touched (the input tensor
    requires grad instead, so frozen layers still give a map).

    Parameters
    ----------
    estimator : fitted skcovid image estimator
        Exposes ``module_``, ``preprocessor_``, ``classes_`` (and ``device_``).
    target_layer : None, str or torch.nn.Module, default=None
        The layer whose activations are weighted: a module of ``estimator.module_``, or its
        name in ``module_.named_modules()`` (e.g. ``"layer4"``). None uses the module's
        ``cam_target_layer`` when it has one (skcovid's UNet: the bottleneck; DRENet: the last
        ResNet stage), else the last ``nn.Conv2d``, in execution order, that the class score
        depends on (a segmentation head, which the class logits do not depend on, is never
        chosen); a layer whose output has a single spatial position (a constant map, e.g.
        ResNet's last stage at 32 px) is passed over for the last one with more.

    Attributes
    ----------
    target_layer_ : str
        The name of the layer used by the last call (set by :meth:`explain`).

    Examples
    --------
    >>> import numpy as np
    >>> from torch import nn
    >>> from skcovid.explain import GradCAM
    >>> from skcovid.preprocessing import ScanPreprocessor
    >>> class Fitted:  # any fitted skcovid image estimator
    ...     module_ = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
    ...                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    ...     preprocessor_ = ScanPreprocessor(32)
    ...     classes_ = np.array(["COVID", "Non_COVID"])
    >>> cam = GradCAM(Fitted())
    >>> heatmaps = cam.explain(np.zeros((2, 40, 40), dtype=np.uint8), target="COVID")
    >>> heatmaps.shape, cam.target_layer_
    ((2, 32, 32), '0')
    """

    def __init__(self, estimator, target_layer=None):
        self.estimator = estimator
        self.target_layer = target_layer

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_auto_cache", None)  # a weak reference: not picklable, found again on use
        return state

    def explain(self, X, *, target=None, original_size=False, batch_size=16):
        """Compute one heatmap per scan.

        Parameters
        ----------
        X : scan table, array of images, or list of paths/arrays
            What the estimator's ``predict`` accepts.
        target : None, class label, int, or sequence of those, default=None
            The class to explain: a label of ``classes_`` (e.g. ``"COVID"``), a column index,
            one per scan, or None for each scan's predicted class (multi-label models: the
            label with the highest probability).
        original_size : bool, default=False
            Return a list of heatmaps resized (bilinear) to each scan's original size instead
            of an array at the preprocessed size.
        batch_size : int, default=16
            Scans per forward/backward pass.

        Returns
        -------
        ndarray of shape (n_scans, H, W) or list of ndarray
            Heatmaps in [0, 1] (each scaled by its maximum; all zeros when the class score
            has no positive evidence), at the preprocessor's output size ``(H, W)``.
        """
        import torch

        estimator = check_image_estimator(self.estimator, what="GradCAM")
        if not isinstance(batch_size, Integral) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
        images = estimator.preprocessor_.transform(X)
        targets = self._target_indices(target, len(images))
        device = estimator_device(estimator)
        module = estimator.module_
        heatmaps = []
        with evaluation_mode(module), torch.enable_grad():
            name, layer = self._resolve_layer(module, images[:1], device)
            self.target_layer_ = name
            for start in range(0, len(images), batch_size):
                stop = start + batch_size
                heatmaps.append(
                    self._batch(module, name, layer, images[start:stop], targets[start:stop], device)
                )
        heatmaps = np.concatenate(heatmaps).astype(np.float32, copy=False)
        return self._to_original_size(X, heatmaps) if original_size else heatmaps

    # -- targets and scores -------------------------------------------------------------
    def _target_indices(self, target, n_scans):
        classes = self.estimator.classes_
        if target is None:
            return [None] * n_scans
        if np.ndim(target) == 0 or isinstance(target, str):
            return [class_index(classes, target)] * n_scans
        targets = list(target)
        if len(targets) != n_scans:
            raise ValueError(f"Got {len(targets)} targets for {n_scans} scans; give one per scan or one.")
        return [None if t is None else class_index(classes, t) for t in targets]

    def _scores(self, logits, targets):
        """The score of each row's target class (predicted class where the target is None)."""
        import torch

        if logits.ndim != 2:
            raise ValueError(f"Expected class logits of shape (n, n_classes); got {tuple(logits.shape)}.")
        single_logit = logits.shape[1] == 1 and not is_multilabel(self.estimator)
        if single_logit:  # binary model with one logit: class 1 when the logit is positive
            predicted = (logits[:, 0] > 0).long()
        else:
            predicted = logits.argmax(dim=1)
        index = torch.tensor(
            [int(p) if t is None else t for t, p in zip(targets, predicted.tolist())], device=logits.device
        )
        if single_logit:
            return logits[:, 0] * (2 * index - 1).to(logits.dtype)
        if int(index.max()) >= logits.shape[1]:
            raise ValueError(f"Target index {int(index.max())} is out of range for {logits.shape[1]} logits.")
        return logits.gather(1, index[:, None]).squeeze(1)

    # -- layers -------------------------------------------------------------------------
    def _resolve_layer(self, module, sample, device):
        from torch import nn

        layer = self.target_layer
        if layer is None:
            cached = getattr(self, "_auto_cache", None)  # (weak reference to module_, layer name)
            if cached is not None and cached[0]() is module:
                return cached[1], _named_layer(module, cached[1])
            name, layer = self._auto_layer(module, sample, device)
            self._auto_cache = (weakref.ref(module), name)
            return name, layer
        if isinstance(layer, nn.Module):
            for name, candidate in module.named_modules():
                if candidate is layer:
                    return name, layer
            raise ValueError(
                f"target_layer {type(layer).__name__} is not a submodule of the estimator's module_; "
                "pass a layer of estimator.module_ or its name."
            )
        if isinstance(layer, str):
            return layer, _named_layer(module, layer)
        raise TypeError(f"target_layer must be None, a layer name or a torch module; got {layer!r}.")

    def _auto_layer(self, module, sample, device):
        """The module's ``cam_target_layer`` or the last Conv2d the class score depends on.

        Layers whose output has a single spatial position give a constant map, so they are
        passed over while another candidate has more.
        """
        import torch
        from torch import nn

        suggested = getattr(module, "cam_target_layer", None)
        layers = {name: m for name, m in module.named_modules() if isinstance(m, nn.Conv2d)}
        if isinstance(suggested, str):
            layers = {**layers, suggested: _named_layer(module, suggested)}
        if not layers:
            raise ValueError(
                f"{type(module).__name__} has no nn.Conv2d layer; pass target_layer (a layer name or module)."
            )
        x = torch.from_numpy(sample).to(device).requires_grad_(True)
        with _capture(layers) as records:
            logits, _ = split_outputs(module(x))
        outputs = [output for _, output in records]
        grads = torch.autograd.grad(self._scores(logits, [None]).sum(), outputs, allow_unused=True)
        used = [(name, out) for (name, out), g in zip(records, grads) if g is not None]
        if not used:
            raise ValueError("The class score depends on no Conv2d layer; pass target_layer explicitly.")
        spatial = [name for name, out in used if out.ndim == 4 and out.shape[-1] * out.shape[-2] > 1]
        if suggested in spatial:
            name = suggested
        else:
            convs = [name for name in spatial if name != suggested]
            name = convs[-1] if convs else used[-1][0]
        return name, layers[name]

    # -- maps ---------------------------------------------------------------------------
    def _batch(self, module, name, layer, images, targets, device):
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(images).to(device).requires_grad_(True)
        with _capture({name: layer}) as records:
            logits, _ = split_outputs(module(x))
        if not records:
            raise ValueError(f"The target layer {name!r} was not called in the forward pass.")
        activation = records[-1][1]
        if activation.ndim != 4:
            raise ValueError(
                f"The target layer {name!r} outputs shape {tuple(activation.shape)}; Grad-CAM needs "
                "(n, channels, h, w) feature maps: choose a convolutional layer."
            )
        (gradient,) = torch.autograd.grad(self._scores(logits, targets).sum(), activation)
        weights = gradient.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((weights * activation).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[:, 0]
        peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12)[:, None, None]
        cam = torch.where(peak > 1e-11, cam / peak, torch.zeros_like(cam))
        return cam.clamp(0.0, 1.0).detach().cpu().numpy()

    @staticmethod
    def _to_original_size(X, heatmaps):
        from ..preprocessing import read_scan
        from ..preprocessing._preprocessor import _resize
        from ..utils import check_scan_table

        table = check_scan_table(X)
        return [
            np.clip(_resize(heatmap, read_scan(image).shape), 0.0, 1.0)
            for image, heatmap in zip(table["image"], heatmaps)
        ]


def _named_layer(module, name):
    from torch import nn

    layers = dict(module.named_modules())
    if name not in layers:
        convs = [n for n, m in layers.items() if isinstance(m, nn.Conv2d)]
        raise ValueError(
            f"module_ has no layer named {name!r}; its last Conv2d layers are {convs[-5:]} "
            "(names from module_.named_modules())."
        )
    return layers[name]
