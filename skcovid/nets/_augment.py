"""Training-time augmentation of preprocessed scan tensors (and their masks)."""

from __future__ import annotations


class ScanAugment:
    """Small random affine changes (and optionally flips) of a preprocessed scan tensor.

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

    Examples
    --------
    >>> import torch
    >>> from skcovid.nets import ScanAugment
    >>> x, mask = ScanAugment()(torch.zeros(3, 32, 32), torch.zeros(1, 32, 32))
    >>> tuple(x.shape), tuple(mask.shape)
    ((3, 32, 32), (1, 32, 32))
    """

    def __init__(self, degrees=10.0, translate=0.05, scale=(0.95, 1.05), hflip=False):
        self.degrees = degrees
        self.translate = translate
        self.scale = scale
        self.hflip = hflip

    def _transform(self):
        from torchvision.transforms import v2

        steps = [v2.RandomAffine(degrees=self.degrees, translate=(self.translate, self.translate),
                                 scale=self.scale)]
        if self.hflip:
            steps.append(v2.RandomHorizontalFlip())
        return v2.Compose(steps)

    def __call__(self, x, mask=None):
        import torch
        from torchvision import tv_tensors

        transform = self.__dict__.get("_cached")
        if transform is None:
            transform = self._cached = self._transform()
        if mask is None:
            return transform(x)
        x, mask = transform(x, tv_tensors.Mask(mask))
        return x, mask.as_subclass(torch.Tensor)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_cached", None)
        return state

    def __repr__(self):
        return (f"ScanAugment(degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"hflip={self.hflip})")
