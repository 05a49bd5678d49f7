"""
=====================================================================
Shared features that forget the modality: adversarial training
=====================================================================

:class:`~skcovid.multimodal.SharedFeatureExtractor` learns one encoder over the X-ray
and CT rows. Trained on the diagnosis alone, its features still tell the modalities
apart. With ``adversarial="gradient_reversal"`` (the default), a modality discriminator
reads the features through a gradient-reversal layer: the encoder learns the diagnosis
*and* to make the modality unpredictable (Ganin & Lempitsky, 2015).

Whether it worked is measured, not assumed. A discriminator that the encoder fooled
during training says little (Elazar & Goldberg, 2018), so the judge is a *fresh*
classifier, :func:`~skcovid.multimodal.probe_modality`, trained to predict the modality
from the features of patients the extractor never saw, and scored on held-out folds of
them. Balanced accuracy 0.5 means it cannot tell X-ray from CT.

The example embeds the built-in synthetic scans with
:class:`~skcovid.embedders.TextureEmbedder` (the default embedder of
:func:`~skcovid.multimodal.make_mtl_pipeline`) and compares the shared features with
and without the adversary.
"""

# %%
# Texture features of synthetic X-rays and CT slices
# --------------------------------------------------
# Half of the patients train the extractors; the other half are kept to judge them.
# 64-pixel images keep the texture features quick to compute (the default is 128).
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcovid.datasets import make_synthetic_scans, train_test_split_by_patient
from skcovid.embedders import TextureEmbedder
from skcovid.multimodal import SharedFeatureExtractor, probe_modality

data = make_synthetic_scans(800, image_size=64, random_state=0)
embeddings = TextureEmbedder(image_size=64).fit_transform(data.data)
E_train, E_test, y_train, y_test = train_test_split_by_patient(
    embeddings, np.asarray(data.target), test_size=0.5, random_state=0
)
print(f"{embeddings.shape[1] - 2} texture features; {len(E_train)} training and {len(E_test)} held-out scans")

# %%
# The raw texture features give the modality away completely:
raw = probe_modality(E_test.filter(like="tex_"), E_test["modality"], groups=E_test["patient"], random_state=0)
print("texture features:", raw)

# %%
# Two shared extractors: without and with the adversary
# -----------------------------------------------------
# Both standardise each modality's input columns with that modality's own mean and
# standard deviation (``standardize="modality"``), so first-order differences are gone
# before training starts. The adversarial weight grows along Ganin & Lempitsky's ramp;
# once it has risen, a fresh discriminator is trained on the validation rows' features
# after each epoch, and the epoch kept is the best one (validation diagnosis loss) among
# those where it is near chance.
#
# The other parameters are the defaults (eight shared features), but for one sized for
# this small set (about 320 training rows, five batches an epoch): up to 60 epochs instead
# of 30, so that the adversary gets enough updates at full weight.
settings = dict(max_epochs=60, random_state=0)
extractors = {
    "no adversary": SharedFeatureExtractor(adversarial=None, **settings),
    "gradient reversal": SharedFeatureExtractor(adversarial="gradient_reversal", **settings),
}
shared_test, probes = {}, {}
for name, extractor in extractors.items():
    extractor.fit(E_train, y_train)
    shared_train, shared_test[name] = extractor.transform(E_train), extractor.transform(E_test)
    probes[name] = probe_modality(
        shared_test[name], shared_test[name]["modality"], groups=shared_test[name]["patient"], random_state=0
    )
    # Does the diagnosis survive? A logistic regression on the shared features, same split.
    diagnosis = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    diagnosis.fit(shared_train.filter(like="shared_"), y_train)
    proba = diagnosis.predict_proba(shared_test[name].filter(like="shared_"))
    auc = roc_auc_score(y_test == "COVID", proba[:, list(diagnosis.classes_).index("COVID")])
    print(f"{name:>17}: {probes[name]}")
    print(f"{'':>17}  diagnosis ROC AUC of the shared features {auc:.3f}; {extractor.n_epochs_} epochs")

# %%
# With the adversary the held-out probe reads the modality markedly less well, though
# still above chance, and on this small set the diagnosis AUC of the shared features
# drops somewhat. (On the real scans' dev split the probe fell from about 0.88 to about
# 0.52, and the whole system's diagnosis AUC did not drop.)
#
# The shared features of the held-out patients, projected
# --------------------------------------------------------
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
for ax, (name, shared) in zip(axes, shared_test.items()):
    points = PCA(n_components=2).fit_transform(StandardScaler().fit_transform(shared.filter(like="shared_")))
    for modality, color, marker in (("xray", "tab:orange", "o"), ("ct", "tab:blue", "^")):
        rows = (shared["modality"] == modality).to_numpy()
        ax.scatter(*points[rows].T, s=12, c=color, marker=marker, alpha=0.6, label=modality)
    low, high = np.percentile(points, [1, 99], axis=0)  # frame the bulk; a few outliers fall outside
    margin = 0.1 * (high - low)
    ax.set(
        xlim=(low[0] - margin[0], high[0] + margin[0]),
        ylim=(low[1] - margin[1], high[1] + margin[1]),
        xlabel="PC 1",
        ylabel="PC 2",
        title=f"{name}\nprobe balanced accuracy {probes[name].balanced_accuracy:.2f} (chance 0.50)",
    )
    ax.legend(title="modality", loc="best", framealpha=0.9)
fig.suptitle("Shared features of held-out patients (PCA of the standardised features; central 98 %)")
plt.tight_layout()
plt.show()

# %%
# Training, epoch by epoch
# ------------------------
# ``history_`` is a skorch ``History`` (one dict per epoch). Left: the modality
# discriminators on the validation rows. Without an adversary the discriminator only
# observes (it trains on detached features) and reads the modality well; with one, the
# adversary is fooled. The honest judge is the fresh discriminator trained on each
# epoch's validation features (``valid_probe_balanced_accuracy``, recorded once the ramp
# has risen): an epoch may be kept only while it stays in the shaded band
# (``invariance_tolerance=0.05`` around chance). Middle: the validation diagnosis loss,
# with the kept epoch marked. Right: the adversarial weight
# λ_p = λ · (2 / (1 + exp(-10 p)) - 1) over training progress p (λ = ``adversarial_weight``).


def curve(history, key):
    """(epochs, values) of the epochs that recorded ``key``."""
    rows = [row for row in history if key in row]
    return [row["epoch"] for row in rows], [row[key] for row in rows]


fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
colors = {"no adversary": "tab:gray", "gradient reversal": "tab:green"}
ax = axes[0]
ax.axhspan(0.45, 0.55, color="0.9", label="chance ± tolerance")
for name, extractor in extractors.items():
    role = "observer" if extractor.adversarial is None else "adversary"
    ax.plot(
        *curve(extractor.history_, "valid_discriminator_balanced_accuracy"),
        c=colors[name],
        label=f"{name}: {role}",
    )
    if extractor.adversarial is not None:
        ax.plot(
            *curve(extractor.history_, "valid_probe_balanced_accuracy"),
            c=colors[name],
            ls="--",
            marker=".",
            label=f"{name}: fresh judge",
        )
ax.set(
    xlabel="epoch",
    ylabel="balanced accuracy (modality)",
    ylim=(0.3, 1.05),
    title="modality discriminators, validation rows",
)
ax.legend(fontsize=8, loc="upper right", framealpha=0.9)

ax = axes[1]
for name, extractor in extractors.items():
    ax.plot(*curve(extractor.history_, "valid_loss"), c=colors[name], label=name)
    kept = [(row["epoch"], row["valid_loss"]) for row in extractor.history_ if row.get("selected")]
    ax.scatter(*zip(*kept), s=70, c=colors[name], edgecolors="k", zorder=3)
ax.scatter([], [], s=70, c="w", edgecolors="k", label="kept epoch")
ax.set(xlabel="epoch", ylabel="cross-entropy", title="validation diagnosis loss")
ax.legend(fontsize=8, framealpha=0.9)

ax = axes[2]
ax.plot(*curve(extractors["gradient reversal"].history_, "adversarial_weight"), c=colors["gradient reversal"])
ax.set(xlabel="epoch", ylabel="λ at the end of the epoch", title="adversarial weight (Ganin ramp)")
plt.tight_layout()
plt.show()
