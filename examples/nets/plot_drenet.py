"""
DRENet: which pyramid levels does the model listen to?
======================================================

:class:`~skcovid.nets.DRENetClassifier` puts a feature pyramid network on a
ResNet, classifies each of the five pyramid levels separately and combines the level
predictions with per-scan attention weights. ``attention_weights`` shows, scan by scan,
how much each level contributes. We use a ResNet-18 with narrow pyramid channels and
random weights so that the example runs on a CPU in under a minute; the published model
(Song et al., 2021) is ``DRENetClassifier("resnet50", weights="DEFAULT")``.
"""

# %%
# Train on synthetic CT slices
# ----------------------------
import matplotlib.pyplot as plt
import numpy as np

from skcovid.datasets import make_synthetic_scans
from skcovid.nets import DRENetClassifier

# From random weights, a few epochs and about a hundred slices the model does not learn
# the (subtle) synthetic lesions: expect an accuracy near chance. The point here is how
# the attention is spread over the levels, not the accuracy.
data = make_synthetic_scans(96, modalities="ct", image_size=64, random_state=0)
X, y = data.data, data.target.to_numpy()
train = (X["split"] == "train").to_numpy()
model = DRENetClassifier("resnet18", weights=None, fpn_channels=32, head_channels=32, image_size=64,
                         max_epochs=4, optimizer="adamw", lr=3e-4, weight_decay=0.0, batch_size=16,
                         validation_fraction=None, random_state=0, device="cpu")
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
