"""
Embedding scans with a CNN backbone, cached inside a grid search
================================================================

:class:`~skcovid.embedders.PretrainedEmbedder` turns scans into the pooled penultimate
features of a torchvision backbone, as a scikit-learn transformer: it goes into a
``Pipeline`` in front of any classifier. With ``cache=True`` every image passes through the
network once, however many folds and settings a ``GridSearchCV`` tries.
:class:`~skcovid.embedders.FineTunedEmbedder` first fine-tunes the backbone and a dense head.

This example runs on the synthetic scans with a randomly initialised ResNet-18
(``weights=None``) so that it needs no download; with real data use ``weights="DEFAULT"``
(ImageNet) or a local checkpoint file, and scans at the backbone's size (224). To run in
about a minute on a CPU the example embeds 120 scans of 64 x 64 pixels.
"""

# %%
# Data: synthetic chest X-rays and CT slices
# ------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skcovid.datasets import make_synthetic_scans
from skcovid.embedders import (
    FineTunedEmbedder,
    PretrainedEmbedder,
    forward_pass_count,
    reset_forward_pass_count,
)

data = make_synthetic_scans(120, image_size=64, random_state=0)
X, y = data.data, data.target
X[["modality", "patient"]].head()

# %%
# Embeddings as a DataFrame
# -------------------------
# The output keeps ``X``'s index and passes ``modality`` and ``patient`` through, so that a
# modality router or a patient-grouped split downstream still sees them.
embedder = PretrainedEmbedder("resnet18", weights=None, image_size=64, random_state=0, device="cpu")
embeddings = embedder.fit_transform(X)
print(embeddings.shape)
embeddings.iloc[:3, [0, 1, 2, -2, -1]]

# %%
# A two-dimensional view of the 512 features
# ------------------------------------------
points = PCA(n_components=2).fit_transform(embeddings.filter(like="emb_"))
fig, ax = plt.subplots(figsize=(5, 4))
for modality, marker in (("xray", "o"), ("ct", "^")):
    for label, color in (("COVID", "tab:red"), ("Non_COVID", "tab:blue")):
        rows = (X["modality"] == modality).to_numpy() & (np.asarray(y) == label)
        ax.scatter(*points[rows].T, marker=marker, c=color, s=18, alpha=0.7, label=f"{modality} {label}")
ax.set(xlabel="PC 1", ylabel="PC 2", title="ResNet-18 embeddings (random weights)")
ax.legend(fontsize=7)
plt.tight_layout()

# %%
# A grid search that forwards each image once
# -------------------------------------------
# The in-process cache is shared by the clones GridSearchCV makes: 5 folds x 4 values of ``C``
# plus the refit, yet the CNN sees each of the 120 scans a single time.
pipe = Pipeline(
    [
        (
            "emb",
            PretrainedEmbedder(
                "resnet18", image_size=64, random_state=0, device="cpu", cache=True
            ).set_output(transform="default"),
        ),
        ("clf", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))),
    ]
)
reset_forward_pass_count()
search = GridSearchCV(pipe, {"clf__logisticregression__C": [0.01, 0.1, 1.0, 10.0]}, cv=GroupKFold(5))
search.fit(X, y, groups=X["patient"])
print(f"best C: {search.best_params_}, CV accuracy {search.best_score_:.2f}")
print(f"images forwarded through the CNN: {forward_pass_count()} for {len(X)} scans")

# %%
# Fine-tuning the backbone and a dense head
# -----------------------------------------
# ``FineTunedEmbedder`` trains ``backbone -> dense(hidden) -> leaky ReLU -> logits`` with
# skorch, stopping early on a validation split carved by patient from the training rows.
# ``freeze=k`` would freeze the first ``k`` stages. With 90 training scans,
# random initial weights and three short epochs, expect little better than chance here; start
# from ImageNet weights (``weights="DEFAULT"``) on real data. ``transform`` returns the
# ``hidden``-wide activation of the dense layer, the input of the logits.
train = (X["split"] == "train").to_numpy()
tuned = FineTunedEmbedder(
    "resnet18", hidden=32, image_size=48, max_epochs=3, lr=3e-4, random_state=0, device="cpu"
)
tuned.fit(X[train], y[train])
print(f"epochs run: {len(tuned.net_.history)}, test accuracy: {tuned.score(X[~train], y[~train]):.2f}")
tuned.transform(X[~train]).iloc[:3, [0, 1, 2, -2, -1]]
