"""Explaining image models: Grad-CAM heatmaps and overlays."""

from ._gradcam import GradCAM
from ._overlay import plot_gradcam

__all__ = ["GradCAM", "plot_gradcam"]
