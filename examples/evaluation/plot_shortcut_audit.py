"""
==========================================================
Auditing a COVID-19 data set for shortcuts
==========================================================

Models of COVID-19 on chest images often learn where a scan comes from (the hospital,
the patients' age, the markers) instead of the disease: DeGrave, Janizek & Lee
(Nature Machine Intelligence, 2021) showed it for the public X-ray collections.
:func:`~skcovid.audit.audit_shortcuts` makes the problem visible, per modality, with
out-of-fold ROC AUCs on folds that never split a patient and patient-bootstrap CIs:

1. does a metadata attribute (``source``, ``view``) alone predict the label?
2. can image embeddings tell the attribute apart within each class?
3. how does the model do within each attribute value?
4. the lung-mask test: with the lungs blanked out, is the label still readable?

The example runs on the ``X_Ray_Train/COVID``, ``CT_Scan_Test/Non_COVID``, ... folder
of real scans when it is present (set ``SKCOVID_REAL_DATA``), else on synthetic scans
with a planted shortcut.
"""

# %%
# The data
# --------
# With the real folder, its ``metadata.csv`` gives each scan a ``source``. Its README
# warns that non-COVID X-rays come mostly from a paediatric collection, COVID X-rays
# from adult publication figures, while CT slices of both classes come from one
# collection. The synthetic fallback plants the same kind of bias: a "hospital B"
# that sends most COVID patients and stamps a marker in the corner of its images.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skcovid.audit import audit_scan_folder, audit_shortcuts
from skcovid.datasets import load_scan_folder, make_synthetic_scans
from skcovid.embedders import TextureEmbedder


def find_real_data():
    candidates = [os.environ.get("SKCOVID_REAL_DATA", "")]
    candidates += [str(p / "shared" / "data" / "covid-scans") for p in Path.cwd().resolve().parents]
    return next((Path(c) for c in candidates if c and (Path(c) / "X_Ray_Train").is_dir()), None)


root = find_real_data()
if root is not None:
    bunch = load_scan_folder(root)
    print(pd.crosstab([bunch.data["modality"], bunch.data["source"]], bunch.target))
else:
    data = make_synthetic_scans(200, image_size=64, random_state=0)
    X, y = data.data.copy(), np.asarray(data.target)
    rng = np.random.RandomState(0)
    covid = pd.Series(y == "COVID", index=X["patient"]).groupby(level=0).first()
    hospital = {p: "B" if rng.rand() < (0.85 if c else 0.15) else "A" for p, c in covid.items()}
    X["source"] = X["patient"].map(hospital)
    stamped = [
        np.where(np.pad(np.ones((6, 6)), ((1, 57), (1, 57))) > 0, 255, im) if s == "B" else im
        for im, s in zip(X["image"], X["source"])
    ]
    X["image"] = pd.Series([im.astype(np.uint8) for im in stamped], index=X.index, dtype=object)
    print(pd.crosstab([X["modality"], X["source"]], y))

# %%
# Does the source alone predict the label?
# ----------------------------------------
# The ``"label"`` check needs no image: one logistic regression per modality on the
# one-hot attribute, out-of-fold by patient. A check flags when the lower bound of its
# 95 % CI lies above AUC 0.6.
if root is not None:
    labels_only = audit_scan_folder(root, attributes=("source", "view"), checks=["label"], random_state=0)
else:
    labels_only = audit_shortcuts(X, y, checks=["label"], random_state=0)
print(labels_only)
print("shortcut attributes:", labels_only.shortcut_attributes())

# %%
# Can the images reveal the source, and do the models read outside the lungs?
# ---------------------------------------------------------------------------
# The image checks embed every scan (classical texture features here, cached) and fit
# a logistic regression out-of-fold. On the real data, the X-rays of the test split keep
# the example under a minute. Only COVID X-rays have lung masks there, so every X-ray is
# blanked with the mean lung region of those masks; the CT slices have no masks.
options = dict(attributes="source", checks=["embeddings", "estimator", "lungs"], random_state=0)
if root is not None:
    embedder = TextureEmbedder(image_size=96, n_jobs=2, cache=True)
    result = audit_scan_folder(root, split="test", modalities="xray", embedder=embedder, **options)
else:
    result = audit_shortcuts(X, y, embedder=TextureEmbedder(image_size=64, cache=True), **options)
with pd.option_context("display.max_colwidth", 60):
    print(result)

# %%
# The forest plot of every AUC: red rows are flagged. Within each class the embeddings
# tell the sources apart; within a source the model does worse than over all scans; and
# with the lungs blanked, a model trained on blanked scans still reads the label.
result.plot()
plt.show()

# %%
# The stratified report gives what an AUC cannot, e.g. the specificity on a source that
# holds non-COVID scans only:
stratified = result.stratified
print(stratified[stratified["metric"].isin(["sensitivity", "specificity"])].round(3).to_string(index=False))
