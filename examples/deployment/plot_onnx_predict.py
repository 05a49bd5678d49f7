"""
====================================================================
Deploying a network: save it, export it to ONNX, ``skcovid predict``
====================================================================

A trained model leaves the session that made it in one of two forms:

* a ``.skcovid`` file (:func:`skcovid.persistence.dump`): any fitted estimator, no
  pickle, loaded back with its versions and types checked;
* an ONNX graph (:func:`skcovid.export.export_onnx`) with a metadata JSON, run by
  :class:`skcovid.export.OnnxClassifier` with ONNX Runtime and numpy: no torch needed
  where it is deployed.

Both are read by the ``skcovid predict`` command, which writes a CSV of predictions
and Grad-CAM overlays. This example trains a small
:class:`~skcovid.nets.ImageClassifier` on synthetic X-rays (random initial weights, so
nothing is downloaded and the accuracy is modest), and takes it through all three.
It needs the ``onnx`` extra (``pip install -e ".[onnx]"``).
"""

# %%
# Train a small network
# ---------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from skcovid.cli import main as skcovid_command
from skcovid.datasets import make_synthetic_scans
from skcovid.export import OnnxClassifier, export_onnx
from skcovid.nets import ImageClassifier
from skcovid.persistence import dump, load, read_manifest

data = make_synthetic_scans(120, modalities="xray", image_size=48, random_state=0)
X, y = data.data, data.target.to_numpy()
train = (X["split"] == "train").to_numpy()
clf = ImageClassifier(
    "resnet18",
    weights=None,
    head_hidden=(),
    head_dropout=0.0,
    image_size=48,
    max_epochs=3,
    lr=1e-3,
    batch_size=16,
    validation_fraction=None,
    random_state=0,
    device="cpu",
)
clf.fit(X[train], y[train])
print(f"test accuracy: {clf.score(X[~train], y[~train]):.2f}")

# %%
# Save and load without pickle
# ----------------------------
# The file holds a manifest (versions, class, parameters, classes, SHA-256s), the
# weights as safetensors and the rest through skops.
work = Path(tempfile.mkdtemp())
dump(clf, work / "model.skcovid")
manifest = read_manifest(work / "model.skcovid")
print({key: manifest[key] for key in ("estimator", "classes") if key in manifest})
print(f"{(work / 'model.skcovid').stat().st_size / 1e6:.1f} MB")
reloaded = load(work / "model.skcovid")
same = np.allclose(reloaded.predict_proba(X[~train]), clf.predict_proba(X[~train]))
print("reloaded model gives the same probabilities:", same)

# %%
# Export to ONNX and run it without torch
# ---------------------------------------
# ``model.onnx`` takes the preprocessed images; ``model.json`` holds the classes and the
# preprocessing, which :class:`~skcovid.export.OnnxClassifier` redoes with numpy and PIL.
onnx_path = export_onnx(clf, work / "model.onnx")
onnx_model = OnnxClassifier(onnx_path)
difference = np.abs(onnx_model.predict_proba(X[~train]) - clf.predict_proba(X[~train])).max()
print(f"classes {list(onnx_model.classes_)}; largest probability difference to torch: {difference:.1e}")

# %%
# ``skcovid predict`` on a folder of new scans
# --------------------------------------------
# New scans arrive as files. The command reads the ONNX model (a ``.skcovid`` file works
# the same), predicts every image, and writes ``predictions.csv`` and, for each scan, a
# Grad-CAM overlay (with a ``.skcovid`` image model; an ONNX graph has no gradients).
# ``--threshold`` sets the decision threshold on the positive class.
new_scans = work / "new-scans"
new_scans.mkdir()
for k, image in enumerate(X.loc[~train, "image"].iloc[:6]):
    Image.fromarray(image).save(new_scans / f"scan-{k}.png")

exit_code = skcovid_command(
    [
        "predict",
        "--model",
        str(work / "model.skcovid"),
        "--images",
        str(new_scans),
        "--out",
        str(work / "predictions"),
        "--threshold",
        "0.4",
    ]
)
print("exit code", exit_code)
predictions = pd.read_csv(work / "predictions" / "predictions.csv")
table = predictions.drop(columns=["overlay", "error"], errors="ignore").round(3)
table["path"] = [Path(p).name for p in table["path"]]
table["truth"] = y[~train][:6]
print(table.to_string(index=False))

# %%
# The overlays the command wrote
# ------------------------------
overlays = [work / "predictions" / name for name in predictions["overlay"].dropna()][:3]
fig, axes = plt.subplots(1, max(len(overlays), 1), figsize=(9, 3.4), squeeze=False)
for ax, path in zip(axes[0], overlays):
    ax.imshow(plt.imread(path))
    ax.set_title(path.name, fontsize=8)
for ax in axes[0]:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# The same command runs the ONNX export, without Grad-CAM:
skcovid_command(
    [
        "predict",
        "--model",
        str(onnx_path),
        "--images",
        str(new_scans),
        "--out",
        str(work / "predictions-onnx"),
        "--threshold",
        "0.4",
        "--no-gradcam",
    ]
)
onnx_predictions = pd.read_csv(work / "predictions-onnx" / "predictions.csv")
print(
    "same decisions as the .skcovid model:", (onnx_predictions["predicted"] == predictions["predicted"]).all()
)
