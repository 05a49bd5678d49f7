"""Write the FineTunedEmbedder files of ``test_finetuned_compat.py`` with the skcovid of a1102f8~1.

That skcovid (the last before commit a1102f8, "One fine-tuning vocabulary") trained
``FineTunedEmbedder`` with its own skorch ``NeuralNetClassifier`` and spoke
``trainable_layers``. Run this script with that source tree first on the path, from outside
the repository (so that the installed skcovid is not imported)::

    mkdir -p /tmp/oldsk && git archive a1102f8~1 | tar -x -C /tmp/oldsk
    cd /tmp && PYTHONPATH=/tmp/oldsk python /path/to/skcovid/tests/embedders/data/make_old_finetuned.py

It writes, next to itself:

- ``old_finetuned.skcovid``: the fitted embedder, saved with ``skcovid.persistence.dump``;
- ``old_finetuned.pkl``: the same object, saved with ``joblib.dump`` (the older way, loaded
  by the commands with ``--trust-pickle``; not named ``.joblib``, which git ignores);
- ``old_finetuned.npz``: the scans it was fitted on (``images``, ``patients``, ``labels``)
  and what the old code computed on them (``embedding``, ``proba``, ``predicted``).

To keep the files small, the backbone is a one-block torchvision ``MobileNetV3`` offered
under the name ``"mobilenet_tiny"`` to this script only (torchvision's ``get_model`` and
``list_models`` are wrapped here). Loading the files needs nothing of the sort: they hold
the network itself.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import joblib
import numpy as np
import torchvision.models
from torchvision.models.mobilenetv3 import InvertedResidualConfig, MobileNetV3

import skcovid
from skcovid.datasets import make_synthetic_scans
from skcovid.embedders import FineTunedEmbedder
from skcovid.persistence import dump

HERE = Path(__file__).resolve().parent
TINY = "mobilenet_tiny"
_get_model, _list_models = torchvision.models.get_model, torchvision.models.list_models


def _tiny_get_model(name, **config):
    if name != TINY:
        return _get_model(name, **config)
    assert config.get("weights") is None, "the tiny backbone has no published weights"
    block = InvertedResidualConfig(8, 3, 8, 8, False, "RE", 2, 1, 1.0)
    return MobileNetV3([block], last_channel=16)


def main():
    if "precision" in FineTunedEmbedder().get_params():
        raise SystemExit(
            f"{skcovid.__file__} is today's skcovid; put the a1102f8~1 source first on PYTHONPATH."
        )
    torchvision.models.get_model = _tiny_get_model
    torchvision.models.list_models = lambda *args, **kwargs: [*_list_models(*args, **kwargs), TINY]

    data = make_synthetic_scans(8, modalities=("xray",), image_size=32, random_state=0)
    X, y = data.data[["image", "modality", "patient"]], np.asarray(data.target)
    model = FineTunedEmbedder(
        TINY, hidden=8, image_size=32, max_epochs=1, trainable_layers=2, random_state=0, device="cpu"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch: no validation split among 8 scans is fine
        model.fit(X, y)
    out = model.transform(X)
    dump(model, HERE / "old_finetuned.skcovid")
    joblib.dump(model, HERE / "old_finetuned.pkl", compress=3)
    np.savez_compressed(
        HERE / "old_finetuned.npz",
        images=np.stack(X["image"].to_list()),
        patients=X["patient"].to_numpy(dtype=str),
        labels=y.astype(str),
        embedding=out[[c for c in out.columns if c.startswith("emb_")]].to_numpy(),
        proba=model.predict_proba(X),
        predicted=model.predict(X).astype(str),
    )
    print(skcovid.__file__, {p.name: p.stat().st_size for p in sorted(HERE.glob("old_finetuned.*"))})


if __name__ == "__main__":
    main()
