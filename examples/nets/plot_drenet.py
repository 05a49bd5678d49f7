"""
DRENet: which pyramid levels does the model listen to?
======================================================

:class:`~skcovid.nets.DRENetClassifier` puts a feature pyramid network on a
ResNet, classifies each of the five pyramid levels separately and combines the level
predictions with per-scan attention weights. ``attention_weights`` shows, scan by scan,
how much each level contributes.

To run on a CPU in under a minute, the example trains a ResNet-18 with narrow pyramid
channels from random weights, on 72 X-rays of 48 x 48 pixels for five epochs. That is too
little to learn the synthetic scans' subtle opacities, so, as in the Grad-CAM example, we
paint a bright round lesion at a random place on every COVID scan: a small local finding
that the model does learn. The published model (Song et al., 2021) is
``DRENetClassifier("resnet50", weights="DEFAULT")``, trained at 224 pixels on real scans.
"""

# %%
# Train on X-rays with a planted lesion
# -------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skcovid.datasets import make_synthetic_scans
from skcovid.nets import DRENetClassifier

size = 48
data = make_synthetic_scans(96, modalities="xray", image_size=size, random_state=0)
X, y = data.data.copy(), data.target.to_numpy()
rng = np.random.default_rng(0)
rows, cols = np.mgrid[:size, :size]
lesion = [(rows - r) ** 2 + (cols - c) ** 2 <= 16 for r, c in rng.integers(10, size - 10, size=(len(X), 2))]
X["image"] = [
    np.where(m & (label == "COVID"), np.minimum(im + 120.0, 255), im).astype(np.uint8)
    for im, m, label in zip(X["image"], lesion, y)
]
train = (X["split"] == "train").to_numpy()
model = DRENetClassifier(
    "resnet18",
    weights=None,
    fpn_channels=32,
    head_channels=32,
    image_size=size,
    max_epochs=5,
    optimizer="adamw",
    lr=1e-3,
    weight_decay=0.0,
    batch_size=16,
    validation_fraction=None,
    random_state=0,
    device="cpu",
)
model.fit(X[train], y[train])
print(f"test accuracy: {model.score(X[~train], y[~train]):.2f}")

# %%
# Attention over the pyramid levels
# ---------------------------------
# Rows sum to one; P2 is the finest level (stride 4), P6 the coarsest (stride 64).
attention = model.attention_weights(X[~train])
levels = ["P2", "P3", "P4", "P5", "P6"]
fig, (ax_att, ax_lvl) = plt.subplots(1, 2, figsize=(9, 3.5))
ax_att.boxplot(attention, tick_labels=levels)
ax_att.set(ylabel="attention weight", title="per-scan attention")
truth = np.searchsorted(model.classes_, y[~train])
level_accuracy = model.predict_level_proba(X[~train]).argmax(2) == truth[:, None]
ax_lvl.bar(levels, level_accuracy.mean(0))
ax_lvl.axhline(model.score(X[~train], y[~train]), color="k", ls="--", label="attention-weighted")
ax_lvl.set(ylim=(0, 1), ylabel="test accuracy", title="each level alone")
ax_lvl.legend(loc="lower right")
fig.tight_layout()
plt.show()
