"""
Scan tables and the synthetic data
==================================

Every skcovid estimator takes a *scan table*: a DataFrame with one row per scan and the
columns ``image`` (a path or an array), ``modality`` (``"xray"`` or ``"ct"``), ``patient``
and ``mask``. Here we generate the built-in synthetic scans, look at them, preprocess them,
and split them by patient.
"""

# %%
# Generate scans
# --------------
# Procedural chest X-rays and CT slices. COVID scans carry patchy peripheral opacities
# of varying contrast; some non-COVID scans carry central opacities (other findings).
import matplotlib.pyplot as plt

from skcovid.datasets import make_synthetic_scans, train_test_split_by_patient
from skcovid.preprocessing import ScanPreprocessor

data = make_synthetic_scans(60, image_size=128, random_state=0)
X, y = data.data, data.target
print(X[["modality", "patient", "split"]].head())
print(y.value_counts())

# %%
# Look at a few scans and their lung masks
# ----------------------------------------
fig, axes = plt.subplots(2, 4, figsize=(10, 5))
for ax, (_, row), label in zip(axes.T, X.head(4).iterrows(), y.head(4)):
    ax[0].imshow(row["image"], cmap="gray")
    ax[0].set_title(f"{row['modality']}: {label}", fontsize=9)
    ax[1].imshow(row["mask"], cmap="gray")
for ax in axes.ravel():
    ax.axis("off")
fig.tight_layout()

# %%
# Preprocess for a network
# ------------------------
# Resize, replicate to 3 channels, and normalise with ImageNet statistics; CT slices can
# be cleaned with a morphological opening (which removes the thin scanner table).
pre = ScanPreprocessor(image_size=64, ct_opening=3)
batch = pre.fit_transform(X)
print(batch.shape, batch.dtype)

# %%
# Split by patient
# ----------------
# A patient's scans all go to the same side, so the test score is not inflated.
X_train, X_test, y_train, y_test = train_test_split_by_patient(X, y, test_size=0.25, random_state=0)
print(len(X_train), len(X_test), set(X_train["patient"]) & set(X_test["patient"]))
