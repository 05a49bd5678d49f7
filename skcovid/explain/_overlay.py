"""Overlay a Grad-CAM heatmap (and a lung-mask contour) on a scan with matplotlib."""

from __future__ import annotations

import numpy as np


def _gray(image):
    from ..preprocessing import read_scan

    gray = read_scan(image)
    low, high = float(np.min(gray)), float(np.max(gray))
    return (gray - low) / (high - low) if high > low else np.zeros_like(gray)


def _fit(array, shape, *, nearest=False):
    from ..preprocessing._preprocessor import _resize

    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"Expected a 2-D heatmap or mask; got shape {array.shape}.")
    return _resize(array, shape, nearest=nearest)


def plot_gradcam(image, heatmap, *, mask=None, ax=None, alpha=0.4, cmap="jet", title=None):
    """Draw a scan in gray with a heatmap (and optionally a mask contour) on top.

    Parameters
    ----------
    image : path or array
        The scan (anything :func:`skcovid.preprocessing.read_scan` reads), shown in gray.
    heatmap : array of shape (h, w) or None
        A map in [0, 1] (e.g. from :meth:`GradCAM.explain`), resized to the image; None
        draws no heatmap.
    mask : array of shape (h, w), optional
        A lung mask or mask probabilities, drawn as a contour at 0.5.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    alpha : float, default=0.4
        Opacity of the heatmap.
    cmap : str, default="jet"
        Colormap of the heatmap.
    title : str, optional
        Axes title (e.g. the predicted probabilities).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.explain import plot_gradcam
    >>> ax = plot_gradcam(np.zeros((40, 40), dtype=np.uint8), np.eye(32), title="COVID 0.9")
    >>> ax.get_title()
    'COVID 0.9'
    """
    import matplotlib.pyplot as plt

    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha!r}.")
    gray = _gray(image)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(gray, cmap="gray", vmin=0.0, vmax=1.0)
    if heatmap is not None:
        heat = np.clip(_fit(heatmap, gray.shape), 0.0, 1.0)
        ax.imshow(heat, cmap=cmap, alpha=float(alpha), vmin=0.0, vmax=1.0)
    if mask is not None:
        contour = _fit(mask, gray.shape, nearest=True)
        if contour.min() < 0.5 <= contour.max():
            ax.contour(contour, levels=[0.5], colors="lime", linewidths=1.0)
    if title is not None:
        ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return ax
