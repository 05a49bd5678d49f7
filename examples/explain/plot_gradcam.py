"""
Where does the model look? Grad-CAM heatmaps
============================================

Grad-CAM weights a convolutional layer's feature maps by the gradient of a class score and
shows where the evidence for that class lies. To check that the heatmaps point at the
right place we need to *know* the right place, so we paint a bright "lesion" at a random
position on every COVID scan of the synthetic data, train a small
:class:`~skcovid.nets.ImageClassifier` from scratch (``weights=None``: nothing is
downloaded), and ask :class:`~skcovid.explain.GradCAM` to explain the COVID class.

To run on a CPU in about a minute the example trains on 90 small (48 x 48) scans for
four epochs (trained on 60 scans it did not learn the lesion). On real scans, start
from ImageNet weights (``weights="DEFAULT"``) at the backbone's own size (224) and explain
the last stage (the default ``target_layer``): the maps are then finer than the 6 x 6 grid
used here.
"""

# %%
# Scans with a lesion at a known position
# ---------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skcovid.datasets import make_synthetic_scans
from skcovid.explain import GradCAM, plot_gradcam
from skcovid.nets import ImageClassifier

size, radius = 48, 4
data = make_synthetic_scans(120, modalities=("xray",), image_size=size, random_state=0)
X, y = data.data.copy(), data.target.to_numpy()
rng = np.random.default_rng(0)
rows, cols = np.mgrid[:size, :size]
centres = np.full((len(X), 2), -1)
images = []
for i, image in enumerate(X["image"]):
    image = image.astype(float)
    if y[i] == "COVID":
        centres[i] = rng.integers(radius + 6, size - radius - 6, size=2)
        lesion = (rows - centres[i, 0]) ** 2 + (cols - centres[i, 1]) ** 2 <= radius**2
        image[lesion] += 120
    images.append(np.clip(image, 0, 255).astype(np.uint8))
X["image"] = images
train = (X["split"] == "train").to_numpy()

# %%
# Train a small classifier
# ------------------------
clf = ImageClassifier(
    "resnet18",
    weights=None,
    image_size=size,
    head_hidden=(),
    head_dropout=0.0,
    max_epochs=4,
    lr=1e-3,
    batch_size=16,
    validation_fraction=None,
    random_state=0,
    device="cpu",
)
clf.fit(X[train], y[train])
print(f"accuracy: train {clf.score(X[train], y[train]):.2f}, test {clf.score(X[~train], y[~train]):.2f}")

# %%
# Explain the COVID class on test scans
# -------------------------------------
# ``target`` takes a class label (or an index, or None for the predicted class). At 48
# pixels ResNet's last stage is only 2 x 2, so we pick ``layer2`` (6 x 6) for a finer map;
# the default is the module's own suggestion (the last convolution).
test_covid = np.flatnonzero(~train & (y == "COVID"))[:8]
cam = GradCAM(clf, target_layer="backbone.layer2")
heatmaps = cam.explain(X.iloc[test_covid], target="COVID")
print(heatmaps.shape, float(heatmaps.min()), float(heatmaps.max()))

# %%
# How much of each heatmap falls on the lesion (and around it), against what a uniform
# map would put there:
inside = [(rows - r) ** 2 + (cols - c) ** 2 <= (2 * radius) ** 2 for r, c in centres[test_covid]]
share = np.mean([h[m].sum() / h.sum() for h, m in zip(heatmaps, inside)])
print(f"heatmap mass on the lesion: {share:.2f} (uniform map: {np.mean([m.mean() for m in inside]):.2f})")

# %%
# Overlays
# --------
# :func:`~skcovid.explain.plot_gradcam` draws the scan in gray and the heatmap on top;
# a lung mask can be drawn as a contour too.
fig, axes = plt.subplots(2, 4, figsize=(10, 5.5))
proba = clf.predict_proba(X.iloc[test_covid])[:, list(clf.classes_).index("COVID")]
for ax, index, heatmap, p in zip(axes.ravel(), test_covid, heatmaps, proba):
    plot_gradcam(
        X["image"].iloc[index], heatmap, mask=X["mask"].iloc[index], ax=ax, title=f"P(COVID) = {p:.2f}"
    )
fig.tight_layout()
plt.show()
