"""What every image estimator shares: Ctrl-C raises and flags the model; checkpointed fits resume exactly."""

import joblib
import numpy as np
import pytest
import torch

from skcovid.datasets import make_synthetic_scans
from skcovid.nets import DRENetClassifier, ImageClassifier, MultiTaskUNet
from tests.utils.callbacks import Interrupt, Record

COMMON = {"image_size": 32, "batch_size": 8, "random_state": 0, "device": "cpu"}
ESTIMATORS = {
    "classifier": lambda **kw: ImageClassifier(weights=None, head_hidden=(8,), **COMMON, **kw),
    "drenet": lambda **kw: DRENetClassifier("resnet18", weights=None, fpn_channels=8, head_channels=8,
                                            **COMMON, **kw),
    "unet": lambda **kw: MultiTaskUNet(channels=(4, 8), head_hidden=(8,), head_dropout=0.1, **COMMON, **kw),
}


@pytest.fixture(scope="module")
def data():
    bunch = make_synthetic_scans(24, modalities="xray", image_size=40, random_state=2)
    return bunch.data, bunch.target.to_numpy()


@pytest.mark.parametrize("name", ESTIMATORS)
def test_ctrl_c_raises_and_the_partial_model_warns(name, data, tmp_path):
    model = ESTIMATORS[name](max_epochs=3, callbacks=[("interrupt", Interrupt(epoch=1, batch=1))])
    with pytest.raises(KeyboardInterrupt, match=r"fit was interrupted in epoch 1 of 3"):
        model.fit(*data)
    assert model.fit_interrupted_ is True and model.n_epochs_ == 1
    with pytest.warns(UserWarning, match="Predicting with .* whose fit was interrupted"):
        model.predict(data[0])
    with pytest.warns(UserWarning, match="Saving .* whose fit was interrupted"):
        joblib.dump(model, tmp_path / "partial.joblib")


def test_resumed_fit_ends_with_the_weights_of_an_uninterrupted_one(data, tmp_path):
    X, y = data
    params = {"max_epochs": 3, "augment": "default", "patience": None}  # dropout, augmentation, shuffling
    make = ESTIMATORS["classifier"]
    reference = make(**params, callbacks=[("record", Record())]).fit(X, y)
    interrupted = make(**params, checkpoint=tmp_path,
                       callbacks=[("record", Record()), ("interrupt", Interrupt(epoch=2))])
    with pytest.raises(KeyboardInterrupt, match="Fit again to resume"):
        interrupted.fit(X, y)
    record = Record()
    resumed = make(**params, checkpoint=tmp_path, callbacks=[("record", record)]).fit(X, y)
    assert resumed.fit_interrupted_ is False
    assert record.epochs_run == reference.n_epochs_ - 1  # epoch 1 came from the checkpoint
    assert resumed.history_[:, "draws"] == reference.history_[:, "draws"]
    expected = reference.module_.state_dict()
    for key, value in resumed.module_.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert np.array_equal(resumed.predict_proba(X), reference.predict_proba(X))
    assert list(tmp_path.iterdir()) == []
