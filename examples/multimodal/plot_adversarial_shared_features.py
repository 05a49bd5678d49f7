"""
=====================================================================
Shared features that forget the modality: adversarial training
=====================================================================

:class:`~skcovid.multimodal.SharedFeatureExtractor` learns one encoder over X-ray and CT
rows. Left alone, its features still tell the modalities apart; with ``adversarial``, a
modality discriminator reads the features while the encoder learns the diagnosis *and*
to make the modality unpredictable, either through a gradient-reversal layer
(``"gradient_reversal"``) or by alternating min-max steps (``"minimax"``).

Whether it worked is measured, not assumed: after training, a *fresh* probe is trained
on the frozen features of held-out rows and predicts their modality
(``modality_accuracy_``; chance is about 0.5 here). The example uses embedding-like
Gaussian data where the modality shifts four columns strongly and the label lives in two
others.
"""

# %%
# Embedding-like data with an obvious modality signal
# ---------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from skcovid.multimodal import SharedFeatureExtractor

rng = np.random.RandomState(0)
n_patients = 200
label = rng.randint(2, size=n_patients).repeat(2)  # each patient: one X-ray and one CT
modality = np.tile(["ct", "xray"], n_patients)
X = pd.DataFrame(rng.randn(2 * n_patients, 16), columns=[f"emb_{i}" for i in range(16)])
X.iloc[:, :4] += 4.0 * (modality == "xray")[:, None]
X.iloc[:, 4:6] += 1.5 * (2 * label[:, None] - 1)
X["modality"] = modality
X["patient"] = np.arange(n_patients).repeat(2).astype(str)
y = np.where(label == 1, "COVID", "Non_COVID")

# %%
# Three shared extractors
# -----------------------
settings = dict(
    hidden=(32, 16),
    max_epochs=40,
    patience=None,
    validation_fraction=0.5,
    lr=3e-3,
    dropout=0.0,
    random_state=0,
)
extractors = {
    mode or "none": SharedFeatureExtractor(adversarial=mode, **settings).fit(X, y)
    for mode in (None, "gradient_reversal", "minimax")
}
for name, extractor in extractors.items():
    print(
        f"{name:>17}: held-out modality probe accuracy {extractor.modality_accuracy_:.2f} "
        f"(chance {extractor.modality_chance_:.2f}); best validation diagnosis loss "
        f"{extractor.history_['valid_diagnosis_loss'].min():.3f}"
    )

# %%
# The two players' losses
# -----------------------
# The discriminator's validation accuracy stays high without an adversary, and is
# pushed towards chance with one.
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5), sharey=True)
for ax, (name, extractor) in zip(axes, extractors.items()):
    extractor.history_.plot(
        x="epoch",
        y=["train_diagnosis_loss", "train_discriminator_loss", "valid_discriminator_accuracy"],
        ax=ax,
        legend=ax is axes[0],
    )
    ax.set_title(name)
plt.tight_layout()
plt.show()

# %%
# The shared features, projected
# ------------------------------
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
for ax, (name, extractor) in zip(axes, extractors.items()):
    projected = PCA(2).fit_transform(extractor.transform(X).filter(like="shared_"))
    for value, color in (("ct", "tab:blue"), ("xray", "tab:orange")):
        rows = modality == value
        ax.scatter(*projected[rows].T, s=6, c=color, label=value, alpha=0.6)
    ax.set_title(f"{name}: probe {extractor.modality_accuracy_:.2f}")
axes[0].legend()
plt.tight_layout()
plt.show()
