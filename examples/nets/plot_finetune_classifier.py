"""
Fine-tuning a classifier: frozen layers, oversampling, training curves
======================================================================

:class:`~skcovid.nets.ImageClassifier` replaces a torchvision backbone's last layer by a
new fully connected head and fine-tunes it on the scan table. Here we freeze the first
stages of a ResNet-18, put it after imbalanced-learn's ``RandomOverSampler``
in a pipeline (the sampler repeats *rows of the scan table*, i.e. file paths
or images), and plot the training curves that skorch records.

With real data you would pass ``weights="DEFAULT"`` (ImageNet weights, downloaded once),
scans at the backbone's size (224) and a patience of a few epochs; this example uses
``weights=None``, 64-pixel scans and ten epochs on about 105 scans so that it runs offline
in under a minute.
"""

# %%
# An imbalanced training set
# --------------------------
import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.metrics import balanced_accuracy_score

from skcovid.datasets import make_synthetic_scans
from skcovid.nets import ImageClassifier

data = make_synthetic_scans(140, modalities="xray", image_size=64, covid_fraction=0.3, random_state=0)
X, y = data.data, data.target.to_numpy()
train = (X["split"] == "train").to_numpy()
labels, counts = np.unique(y[train], return_counts=True)
print("training labels:", dict(zip(labels.tolist(), counts.tolist())))

# %%
# Freeze the stem, oversample, train
# ----------------------------------
# ``freeze`` takes layer names (here ResNet's stem ``conv1`` and ``bn1``; with ImageNet
# weights one would typically also freeze ``layer1``), an integer (the first *n* stages) or
# ``"backbone"`` (train the head only). Frozen batch-norm layers keep their running
# statistics. A validation split carved from the training rows *by patient* is scored
# after every epoch; with ``patience`` set, training stops early and the best epoch is
# restored. ``augment="default"`` adds small random rotations and shifts.
clf = ImageClassifier(
    "resnet18",
    weights=None,
    freeze=["conv1", "bn1"],
    head_hidden=(64,),
    image_size=64,
    max_epochs=10,
    lr=1e-3,
    batch_size=16,
    validation_fraction=0.2,
    patience=None,
    random_state=0,
    device="cpu",
)
model = make_pipeline(RandomOverSampler(random_state=0), clf)
model.fit(X[train], y[train])
# with 30 % COVID scans, always answering "Non_COVID" is 70 % accurate: balanced accuracy
# (the mean of sensitivity and specificity) is 0.5 for such a model
predicted = model.predict(X[~train])
print(
    f"test accuracy: {np.mean(predicted == y[~train]):.2f}, "
    f"balanced accuracy: {balanced_accuracy_score(y[~train], predicted):.2f}"
)

# %%
# Training curves
# ---------------
# ``history_`` holds one row per epoch (train and validation loss, validation accuracy).
history = clf.history_
epochs = history[:, "epoch"]
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
ax_loss.plot(epochs, history[:, "train_loss"], "o-", label="train")
ax_loss.plot(epochs, history[:, "valid_loss"], "o-", label="validation")
ax_loss.set(xlabel="epoch", ylabel="loss")
ax_loss.legend()
ax_acc.plot(epochs, history[:, "valid_acc"], "o-", color="C2")
ax_acc.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1))
fig.tight_layout()
plt.show()
