"""
==========================================================
Tuning the multi-task system with patient-grouped folds
==========================================================

Every part of :func:`~skcovid.multimodal.make_mtl_pipeline` is an ordinary estimator, so
``GridSearchCV`` reaches nested parameters by name: the image side of the embedder
(``embed__embedder__image_size``, one name for every copy of the embedder), whether the
shared features are adversarial (``features__shared__adversarial``), the hidden sizes of
the per-modality task-specific extractors (``features__task__xray__hidden``) or the
head's loss (``head__loss``). Folds must keep all scans of a patient on one side:
``StratifiedGroupKFold`` with ``groups=X["patient"]``.

The embedder sits inside the pipeline, so each candidate embeds its own training
rows; with ``cache=True`` the texture features of an image are computed once per image
size however many folds and candidates read them.
"""

# %%
# Synthetic scans
# ---------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from skcovid.datasets import make_synthetic_scans
from skcovid.multimodal import make_mtl_pipeline

data = make_synthetic_scans(240, image_size=64, random_state=0)
X, y = data.data, np.asarray(data.target)
print(X[["modality", "patient"]].head(3))

# %%
# Search over nested parameters
# -----------------------------
# The defaults are sized for real data. To keep this search (4 candidates x 2 folds,
# then a refit) around a minute on two CPU cores, the networks are smaller and train
# for at most 15 epochs, and the head learns from in-sample features (``cv=None``), so
# each fit trains the extractors once rather than once per fold plus once on all rows.
# (On these few rows, with 2-fold out-of-fold features, ``cv=2``, every candidate
# scored near chance.)
pipe = make_mtl_pipeline(
    cache=True,
    task_hidden=(64, 16),
    shared_hidden=(64, 16),
    head_hidden=(16,),
    max_epochs=15,
    cv=None,
    random_state=0,
)
grid = GridSearchCV(
    pipe,
    {
        "embed__embedder__image_size": [32, 64],
        "features__shared__adversarial": [None, "gradient_reversal"],
    },
    cv=StratifiedGroupKFold(n_splits=2, shuffle=True, random_state=0),
    scoring="roc_auc",
)
grid.fit(X, y, groups=X["patient"])
print("best:", grid.best_params_, f"ROC AUC {grid.best_score_:.3f}")

# %%
# All candidates
# --------------
results = pd.DataFrame(grid.cv_results_)
labels = [
    f"{p['embed__embedder__image_size']} px, " + (p["features__shared__adversarial"] or "no adversary")
    for p in results["params"]
]
order = np.argsort(results["mean_test_score"].to_numpy())
fig, ax = plt.subplots(figsize=(7, 3))
ax.errorbar(
    results["mean_test_score"].to_numpy()[order],
    np.array(labels)[order],
    xerr=results["std_test_score"].to_numpy()[order],
    fmt="o",
    capsize=4,
)
ax.axvline(0.5, c="0.5", ls=":", lw=1, label="chance")
ax.set(
    xlim=(0.3, 1.0),
    xlabel="ROC AUC (mean ± std over 2 patient-grouped folds)",
    title="candidates: texture image size, shared features",
)
ax.legend(loc="lower right")
plt.tight_layout()
plt.show()
