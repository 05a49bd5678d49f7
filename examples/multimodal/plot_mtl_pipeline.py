"""
=====================================================
The multi-modal multi-task pipeline, end to end
=====================================================

X-rays and CT slices go through one scikit-learn ``Pipeline``
(:func:`~skcovid.multimodal.make_mtl_pipeline`):

1. ``embed``: a CNN embedder per modality, routed by the ``modality`` column
   (:class:`~skcovid.multimodal.ModalityRouter`);
2. ``features``: task-specific features (one MLP per modality) next to shared features
   (one MLP over both modalities, trained adversarially against a modality
   discriminator) -- :class:`~skcovid.multimodal.MultiTaskFeatures`;
3. ``head``: :class:`~skcovid.multimodal.ClassifierHead`.

The example fits it on the built-in synthetic scans, reports per-modality metrics with
patient-bootstrap confidence intervals, and predicts patients from all their scans.
Small images, a random-initialised ResNet-18 fine-tuned for two epochs and small MLPs
keep it under a minute on a CPU; real use would take ``weights="DEFAULT"`` and larger
images.
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
from skcovid.multimodal import make_mtl_pipeline, predict_patients
from skcovid.plotting import plot_confusion_matrices

data = make_synthetic_scans(240, image_size=48, random_state=0)
X, y = data.data, np.asarray(data.target)
train = (X["split"] == "train").to_numpy()
X_train, y_train, X_test, y_test = X[train], y[train], X[~train], y[~train]
print(X_train["modality"].value_counts())

# %%
# The pipeline
# ------------
# Every part is an ordinary estimator, so its parameters are reachable by name, e.g.
# ``embed__xray__max_epochs`` or ``features__shared__adversarial``.
pipe = make_mtl_pipeline(
    embedder="fine_tuned",
    embedder_max_epochs=2,
    embedder_params={"hidden": 64},
    image_size=48,
    adversarial="gradient_reversal",
    task_hidden=(64, 32),
    shared_hidden=(64, 32),
    head_hidden=(16,),
    max_epochs=30,
    random_state=0,
)
pipe.fit(X_train, y_train)
print([name for name, _ in pipe.steps])
print(pipe.get_params()["features__shared__adversarial"])

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
plot_confusion_matrices(y_test, pipe.predict(X_test), by=X_test["modality"])
plt.show()

# %%
# How much modality do the shared features carry?
# -----------------------------------------------
# The shared extractor measures it after training: a fresh probe is trained on the
# frozen features of held-out training rows and predicts their modality.
shared = pipe.named_steps["features"].shared_
print(f"probe accuracy {shared.modality_accuracy_:.2f} (majority share {shared.modality_chance_:.2f})")
shared.history_.plot(
    x="epoch", y=["train_diagnosis_loss", "train_discriminator_loss", "valid_diagnosis_loss"]
)
plt.title("the two players' losses")
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
