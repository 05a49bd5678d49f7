"""
=====================================================
The multi-modal multi-task pipeline, end to end
=====================================================

X-rays and CT slices go through one scikit-learn ``Pipeline``
(:func:`~skcovid.multimodal.make_mtl_pipeline`):

1. ``embed``: :class:`~skcovid.multimodal.MultiModalEmbedder` around the image embedder,
   by default :class:`~skcovid.embedders.TextureEmbedder` (classical texture features,
   no network), fitted once and read by both branches below;
2. ``features``: :class:`~skcovid.multimodal.MultiTaskFeatures` -- task-specific
   features (one MLP per modality, each in its own block of columns, ``task_xray_*`` and
   ``task_ct_*``) next to shared features (one MLP over both modalities, ``shared_*``,
   trained adversarially against a modality discriminator), computed out-of-fold while
   fitting;
3. ``head``: :class:`~skcovid.multimodal.ClassifierHead`.

The example fits it on the built-in synthetic scans, reports per-modality metrics with
patient-bootstrap confidence intervals, measures how much modality the shared features
still carry, and predicts patients from all their scans.
"""

# %%
# Synthetic X-ray and CT scans
# ----------------------------
# ``make_synthetic_scans`` returns a scan table (``image``, ``modality``, ``patient``,
# ``split``...) and string labels. The ``split`` column is grouped by patient.
import matplotlib.pyplot as plt
import numpy as np

from skcovid.datasets import make_synthetic_scans
from skcovid.metrics import clinical_report
from skcovid.multimodal import make_mtl_pipeline, predict_patients, probe_modality
from skcovid.plotting import plot_confusion_matrices

data = make_synthetic_scans(400, image_size=64, random_state=0)
X, y = data.data, np.asarray(data.target)
train = (X["split"] == "train").to_numpy()
X_train, y_train, X_test, y_test = X[train], y[train], X[~train], y[~train]
print(X_train["modality"].value_counts())

# %%
# The pipeline
# ------------
# The defaults are sized for real data. Two changes here: the image side of the texture
# features (64 px like the synthetic scans instead of 128), and three folds instead of
# five for the out-of-fold features the head learns from (each fold trains the
# extractors once more, so this keeps the example under a minute). Every part is an
# ordinary estimator, so its parameters are reachable by name: one name,
# ``embed__embedder__image_size``, reaches every copy of the embedder.
pipe = make_mtl_pipeline(image_size=64, cv=3, random_state=0)
print([name for name, _ in pipe.steps])
params = pipe.get_params()
print({key: params[key] for key in ("embed__embedder__image_size", "features__shared__adversarial")})
pipe.fit(X_train, y_train)

# %%
# Per-modality metrics with confidence intervals
# ----------------------------------------------
# ``clinical_report`` resamples patients (``groups``), separately per modality (``by``).
proba = pipe.predict_proba(X_test)[:, list(pipe.classes_).index("COVID")]
report = clinical_report(
    y_test,
    proba,
    pos_label="COVID",
    groups=X_test["patient"],
    by=X_test["modality"],
    n_bootstraps=500,
    random_state=0,
)
print(
    report[report["metric"].isin(["accuracy", "sensitivity", "specificity", "roc_auc"])]
    .round(3)
    .to_string(index=False)
)

# %%
# Confusion matrix per modality
# -----------------------------
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
plot_confusion_matrices(y_test, pipe.predict(X_test), by=X_test["modality"], axes=axes)
plt.tight_layout()
plt.show()

# %%
# What the head reads
# -------------------
# All but the last step turn scans into the head's input: each modality's task-specific
# features in their own columns (zero on the other modality's rows), then the shared
# features.
features = pipe[:-1].transform(X_test)
print(features.columns[[0, 1, -4, -3, -2, -1]].tolist())
print("share of non-zero values, by the row's modality:")
print(features.groupby("modality")[["task_xray_0", "task_ct_0"]].agg(lambda v: (v != 0).mean()))

# %%
# How much modality do the shared features carry?
# -----------------------------------------------
# Fitting never measures it; :func:`~skcovid.multimodal.probe_modality` does, on rows the
# extractor did not train on: a fresh classifier learns the modality from the shared
# features of some test patients and is scored on the others. With 100 test scans the
# estimate is rough; chance is 0.5.
shared = features.filter(like="shared_")
print(probe_modality(shared, features["modality"], groups=features["patient"], cv=3, random_state=0))

# %%
# During training, after each epoch once the adversarial weight has ramped up, a fresh
# discriminator judged the validation rows' features; the epoch kept (marked) is the
# best on the validation diagnosis loss among those where that judge was near chance.
history = pipe.named_steps["features"].shared_.history_
judged = [row for row in history if "valid_probe_balanced_accuracy" in row]
kept = [row for row in history if row.get("selected")]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
left.plot(history[:, "epoch"], history[:, "valid_loss"], label="diagnosis")
right.axhspan(0.45, 0.55, color="0.9", label="chance ± invariance_tolerance")
right.plot(
    [row["epoch"] for row in judged],
    [row["valid_probe_balanced_accuracy"] for row in judged],
    marker=".",
    c="tab:orange",
    label="fresh judge",
)
for ax, key in ((left, "valid_loss"), (right, "valid_probe_balanced_accuracy")):
    ax.scatter(
        [row["epoch"] for row in kept],
        [row.get(key, np.nan) for row in kept],
        s=70,
        c="k",
        zorder=3,
        label="kept epoch",
    )
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
left.set(xlabel="epoch", ylabel="cross-entropy", title="validation diagnosis loss")
right.set(
    xlabel="epoch",
    ylabel="balanced accuracy (modality)",
    ylim=(0.3, 1.0),
    title="fresh discriminator, validation rows",
)
plt.tight_layout()
plt.show()

# %%
# One prediction per patient
# --------------------------
# A patient with an X-ray and a CT gets the mean of the two scans' probabilities
# (``fusion="geometric"`` and ``"max"`` are the alternatives).
patients = predict_patients(pipe, X_test, fusion="mean")
print(patients.head())
truth = patients.index.map(dict(zip(X_test["patient"], y_test)))
accuracy = np.mean(patients["prediction"].to_numpy() == truth)
print(f"patient-level accuracy: {accuracy:.2f} over {len(patients)} patients")
