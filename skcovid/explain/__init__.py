"""Explaining image models: Grad-CAM heatmaps, overlays and prediction rows with overlays."""

from ._gradcam import GradCAM
from ._overlay import plot_gradcam
from ._predict_rows import PredictionWriter, predict_rows

__all__ = ["GradCAM", "PredictionWriter", "plot_gradcam", "predict_rows"]
