"""Training-time augmentation of preprocessed scan tensors (and their masks)."""

from __future__ import annotations


class ScanAugment:
    """Small random affine changes, crops, intensity jitter (and optionally flips) of a scan tensor.

    Built on torchvision transforms v2, applied to the ``(C, H, W)`` tensor after
    preprocessing. With a mask, image and mask get the *same* geometric change (the mask
    with nearest-neighbour interpolation): ``augment(x, mask) -> (x, mask)``.

    Horizontal flips are off by default: on chest images they move the heart to the
    right and swap the lungs' asymmetric anatomy, which a model may otherwise rely on.
    Pixels moved in from outside are 0, the normalised mean intensity.

    Parameters
    ----------
    degrees : float, default=10.0
        Maximum rotation in degrees.
    translate : float, default=0.05
        Maximum shift as a fraction of the width and height.
    scale : tuple of (float, float), default=(0.95, 1.05)
        Range of the zoom factor.
    hflip : bool, default=False
        Also flip horizontally with probability 0.5.
    crop_scale : None or tuple of (float, float), default=None
        Random resized crop (torchvision's ``RandomResizedCrop``, aspect ratio 0.9-1.1): the
        crop covers this range of the image area and is resized back to the input size.
    brightness : float, default=0.0
        Add a random shift in ``[-brightness, brightness]`` to every pixel. Preprocessed
        tensors are normalised (mean 0, unit spread), so the shift is in those units.
    contrast : float, default=0.0
        Scale the deviations from the image mean by a random factor in
        ``[1 - contrast, 1 + contrast]``. (torchvision's ``ColorJitter`` expects [0, 1]
        images and would clip normalised ones.)

    Examples
    --------
    >>> import torch
    >>> from skcovid.nets import ScanAugment
    >>> x, mask = ScanAugment()(torch.zeros(3, 32, 32), torch.zeros(1, 32, 32))
    >>> tuple(x.shape), tuple(mask.shape)
    ((3, 32, 32), (1, 32, 32))
    """

    def __init__(self, degrees=10.0, translate=0.05, scale=(0.95, 1.05), hflip=False, crop_scale=None,
                 brightness=0.0, contrast=0.0):
        self.degrees = degrees
        self.translate = translate
        self.scale = scale
        self.hflip = hflip
        self.crop_scale = crop_scale
        self.brightness = brightness
        self.contrast = contrast

    def _transform(self):
        from torchvision.transforms import v2

        steps = []
        if self.crop_scale is not None:
            steps.append(_SameSizeCrop(self.crop_scale))
        steps.append(v2.RandomAffine(degrees=self.degrees, translate=(self.translate, self.translate),
                                     scale=self.scale))
        if self.hflip:
            steps.append(v2.RandomHorizontalFlip())
        return v2.Compose(steps)

    def _jitter(self, x):
        import torch

        if self.contrast:
            factor = 1.0 + (2 * torch.rand(()) - 1) * self.contrast
            mean = x.mean(dim=(-2, -1), keepdim=True)
            x = (x - mean) * factor + mean
        if self.brightness:
            x = x + (2 * torch.rand(()) - 1) * self.brightness
        return x

    def __call__(self, x, mask=None):
        import torch
        from torchvision import tv_tensors

        transform = self.__dict__.get("_cached")
        if transform is None:
            transform = self._cached = self._transform()
        if mask is None:
            return self._jitter(transform(x))
        x, mask = transform(x, tv_tensors.Mask(mask))
        return self._jitter(x), mask.as_subclass(torch.Tensor)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_cached", None)
        return state

    def __repr__(self):
        return (f"ScanAugment(degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"hflip={self.hflip}, crop_scale={self.crop_scale}, brightness={self.brightness}, "
                f"contrast={self.contrast})")


class _SameSizeCrop:
    """torchvision's ``RandomResizedCrop`` back to the input's own size (known only per call)."""

    def __init__(self, scale):
        self.scale = scale

    def __call__(self, *inputs):
        from torchvision.transforms import v2

        size = tuple(inputs[0].shape[-2:])
        out = v2.RandomResizedCrop(size, scale=self.scale, ratio=(0.9, 1.1), antialias=True)(*inputs)
        return out


def recipe_augmenters():
    """The training recipe's augmentation per modality: ``{"xray": ScanAugment, "ct": ScanAugment}``.

    Both: random resized crop (80-100 % of the area), rotation up to 10 degrees, 5 % shifts,
    brightness and contrast jitter of 0.1. CT slices are also flipped horizontally (axial
    slices are nearly symmetric); X-rays are not (the heart would move to the right). Rows
    without a modality (key None) are treated as X-rays.

    Examples
    --------
    >>> from skcovid.nets._augment import recipe_augmenters
    >>> {name: aug.hflip for name, aug in recipe_augmenters().items()}
    {'xray': False, 'ct': True, None: False}
    """
    common = {"degrees": 10.0, "translate": 0.05, "scale": (1.0, 1.0), "crop_scale": (0.8, 1.0),
              "brightness": 0.1, "contrast": 0.1}
    xray = ScanAugment(hflip=False, **common)
    return {"xray": xray, "ct": ScanAugment(hflip=True, **common), None: xray}
