"""
==========================================================
Tuning the multi-task system with patient-grouped folds
==========================================================

Every part of :func:`~skcovid.multimodal.make_mtl_pipeline` is an ordinary estimator, so
``GridSearchCV`` reaches nested parameters by name: whether the shared features are
adversarial (``features__shared__adversarial``), the hidden sizes of the per-modality
task-specific extractors (``features__task__xray__hidden``) and the head's loss
(``head__loss``). Folds must keep all scans of a patient on one side:
``StratifiedGroupKFold`` with ``groups=X["patient"]``.

To keep the example fast the images are embedded once (a random-initialised ResNet-18
at 32 pixels, shared by both modalities) and the search runs on the embeddings
(``embedder=None``); with an embedder in the pipeline, ``cache=True`` would avoid
embedding an image twice across the search.
"""

# %%
# Embed the synthetic scans once
# ------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from skcovid.datasets import make_synthetic_scans
from skcovid.embedders import PretrainedEmbedder
from skcovid.multimodal import make_mtl_pipeline

data = make_synthetic_scans(200, image_size=32, random_state=0)
X, y = data.data, np.asarray(data.target)
embeddings = PretrainedEmbedder("resnet18", image_size=32, random_state=0).fit(X).transform(X)
print(embeddings.iloc[:3, [0, 1, -2, -1]])

# %%
# Search over nested parameters
# -----------------------------
# Small networks train faster on one CPU thread than on several.
import torch

torch.set_num_threads(1)
pipe = make_mtl_pipeline(
    embedder=None,
    task_hidden=(32,),
    shared_hidden=(32,),
    head_hidden=(8,),
    max_epochs=10,
    lr=0.01,
    random_state=0,
)
grid = GridSearchCV(
    pipe,
    {
        "features__shared__adversarial": [None, "gradient_reversal"],
        "features__task__xray__hidden": [(32,), (64, 32)],
        "head__loss": ["cross_entropy", "focal"],
    },
    cv=StratifiedGroupKFold(n_splits=2, shuffle=True, random_state=0),
    scoring="roc_auc",
)
grid.fit(embeddings, y, groups=embeddings["patient"])
print("best:", grid.best_params_, f"ROC AUC {grid.best_score_:.3f}")

# %%
# All candidates
# --------------
results = pd.DataFrame(grid.cv_results_)
labels = [
    " / ".join(
        str(p[k] or "none")
        for k in ("features__shared__adversarial", "features__task__xray__hidden", "head__loss")
    )
    for p in results["params"]
]
order = np.argsort(results["mean_test_score"].to_numpy())
plt.figure(figsize=(7, 4))
plt.barh(
    np.array(labels)[order],
    results["mean_test_score"].to_numpy()[order],
    xerr=results["std_test_score"].to_numpy()[order],
)
plt.xlabel("ROC AUC (2 patient-grouped folds)")
plt.tight_layout()
plt.show()
