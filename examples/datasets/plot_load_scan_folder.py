"""
===================================================
Loading a folder of scans and its ``metadata.csv``
===================================================

Real data comes as files. :func:`~skcovid.datasets.load_scan_folder` reads the
``X_Ray_Train/COVID``, ``CT_Scan_Test/Non_COVID``, ... layout, optional lung masks
under ``masks/``, and a ``metadata.csv`` that gives each scan its patient and any other
attribute (source, view, ...). This example writes such a folder (from the built-in
synthetic scans, so it runs anywhere), edits its ``metadata.csv`` as you would for your
own data, loads it, and shows what happens with a damaged file.

To load the real development scans instead, point the loader at
``../shared/data/covid-scans`` (or wherever ``SKCOVID_REAL_DATA`` says); the calls are
the same.
"""

# %%
# A folder in the layout
# ----------------------
# ``make_synthetic_scans(directory=...)`` writes PNG files, lung masks and a
# ``metadata.csv``, exactly the layout your own data should follow.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from PIL import Image

from skcovid.datasets import load_scan_folder, make_synthetic_scans, train_test_split_by_patient

root = Path(tempfile.mkdtemp()) / "my-scans"
make_synthetic_scans(80, image_size=96, random_state=0, directory=root)
for folder in sorted(p for p in root.rglob("*") if p.is_dir()):
    n_files = sum(1 for f in folder.iterdir() if f.is_file())
    if n_files:
        print(f"{str(folder.relative_to(root)):<32} {n_files:>3} files")

# %%
# ``metadata.csv``: one row per scan
# ----------------------------------
# ``path`` (relative to the folder) ties a row to its file. ``patient`` is the column
# that matters most: every split groups by it. Other columns travel with the scans;
# here we rewrite ``source`` as if the patients came from two hospitals.
metadata = pd.read_csv(root / "metadata.csv")
print(metadata.head(3).to_string(index=False))
patient_number = pd.factorize(metadata["patient"])[0]
metadata["source"] = ["hospital_A" if k % 3 else "hospital_B" for k in patient_number]
metadata.to_csv(root / "metadata.csv", index=False)

# %%
# Load it
# -------
# The folders decide label, modality and split; ``metadata.csv`` adds the rest. The
# result is a ``Bunch`` like scikit-learn's loaders: ``data`` is the scan table ``X``,
# ``target`` the labels.
bunch = load_scan_folder(root)
X, y = bunch.data, bunch.target
print(X.columns.tolist())
print(pd.crosstab([X["modality"], X["split"]], y))
print(X[["image", "patient", "source"]].head(3).to_string())

# %%
# ``split`` comes from the folder names, and a patient's scans are all on one side:
train_patients = set(X.loc[X["split"] == "train", "patient"])
test_patients = set(X.loc[X["split"] == "test", "patient"])
print("patients on both sides:", train_patients & test_patients)

# %%
# Without a ``split`` in the folder names (or to make a validation split), split by
# patient yourself:
X_fit, X_val, y_fit, y_val = train_test_split_by_patient(
    X[X["split"] == "train"], y[X["split"] == "train"], test_size=0.2, random_state=0
)
print(
    f"{len(X_fit)} scans to fit, {len(X_val)} to validate; shared patients:",
    set(X_fit["patient"]) & set(X_val["patient"]),
)

# %%
# Scans and masks as read from disk
# ---------------------------------
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for ax, (_, row), label in zip(axes, X.head(4).iterrows(), y.head(4)):
    ax.imshow(Image.open(row["image"]), cmap="gray")
    if isinstance(row["mask"], str):
        ax.contour(plt.imread(row["mask"]), levels=[0.5], colors="lime", linewidths=0.8)
    ax.set_title(f"{row['modality']}, {label}\n{Path(row['image']).name}", fontsize=8)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# A damaged file
# --------------
# Loading decodes every scan, so a truncated or corrupt file is found now rather than
# in the middle of a fit. By default the loader stops and names the file; with
# ``on_error="skip"`` it leaves the scan out, warns, and lists it in ``skipped``.
broken = Path(X["image"].iloc[0])
broken.write_bytes(broken.read_bytes()[:100])  # cut the PNG short
try:
    load_scan_folder(root)
except Exception as error:  # ScanReadError
    print(type(error).__name__, ":", error)

bunch = load_scan_folder(root, on_error="skip")
print(len(bunch.data), "scans loaded; skipped:", bunch.skipped)
