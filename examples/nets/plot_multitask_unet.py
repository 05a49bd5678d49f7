"""
Classifying and segmenting with one network: the multi-task UNet
================================================================

:class:`~skcovid.nets.MultiTaskUNet` shares a residual UNet encoder between a
classification head and a lung-segmentation head, trained with
``Dice + BCE`` for the masks plus a class-weighted cross-entropy. Scans without a lung
mask still train the classifier: their mask loss is skipped. We hide the masks of half the
training scans to show it, then compare predicted and true lung masks.
"""

# %%
# Synthetic X-rays, half of them without a mask
# ---------------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skcovid.datasets import make_synthetic_scans
from skcovid.nets import MultiTaskUNet

data = make_synthetic_scans(120, modalities="xray", image_size=48, random_state=0)
X, y = data.data.copy(), data.target.to_numpy()
X.loc[X.index[::2], "mask"] = np.nan
train = (X["split"] == "train").to_numpy()
print(f"{X['mask'][train].notna().sum()} of {train.sum()} training scans have a mask")

# %%
# A small UNet
# ------------
# ``channels`` sets the widths of the encoder levels (the default is 32 ... 512).
# The classification head is narrowed too (the default is ``256 -> 128`` with heavy
# dropout). To run in under a minute, 90 training scans of 48 x 48 pixels and six
# epochs: the *classification* stays weak, but the lungs, which every scan shows, are
# learnt quickly. For a classifier worth using, train at the defaults (wider channels,
# larger scans) on a real folder for tens of epochs, on a GPU.
unet = MultiTaskUNet(
    channels=(8, 16, 32, 64),
    head_hidden=(64,),
    head_dropout=0.1,
    image_size=48,
    max_epochs=6,
    lr=1e-3,
    batch_size=16,
    validation_fraction=None,
    random_state=0,
    device="cpu",
)
unet.fit(X[train], y[train])
X_test = data.data[~train]  # the test scans with all their masks

print(unet.score_report(X_test, y[~train]))

# %%
# Predicted masks at the scans' own size
# --------------------------------------
masks = unet.predict_mask(X_test.iloc[:4], original_size=True)
fig, axes = plt.subplots(2, 4, figsize=(10, 5))
for k in range(4):
    axes[0, k].imshow(X_test["image"].iloc[k], cmap="gray")
    axes[0, k].contour(X_test["mask"].iloc[k], levels=[0.5], colors="lime")
    axes[0, k].set_title("true lungs")
    axes[1, k].imshow(X_test["image"].iloc[k], cmap="gray")
    axes[1, k].contour(masks[k], levels=[0.5], colors="red")
    axes[1, k].set_title("predicted")
for ax in axes.ravel():
    ax.axis("off")
fig.tight_layout()
plt.show()
