"""What the docs promise about repeatable deep fits: the same random_state, data and torch
thread count give identical weights on the CPU, whatever the thread count is."""

import pytest
import torch

from skcovid.datasets import make_synthetic_scans
from skcovid.embedders import FineTunedEmbedder
from skcovid.nets import DRENetClassifier, ImageClassifier, MultiTaskUNet

COMMON = {"image_size": 32, "batch_size": 8, "max_epochs": 1, "random_state": 0, "device": "cpu"}
ESTIMATORS = {
    "classifier": lambda: ImageClassifier(weights=None, head_hidden=(8,), augment="default", **COMMON),
    "drenet": lambda: DRENetClassifier("resnet18", weights=None, fpn_channels=8, head_channels=8, **COMMON),
    "unet": lambda: MultiTaskUNet(channels=(4, 8), head_hidden=(8,), head_dropout=0.1, **COMMON),
    "finetuned": lambda: FineTunedEmbedder(hidden=8, freeze=5, **COMMON),
}


@pytest.fixture(scope="module")
def data():
    bunch = make_synthetic_scans(12, modalities="xray", image_size=40, random_state=4)
    return bunch.data, bunch.target.to_numpy()


@pytest.fixture
def threads(request):
    previous = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(previous)


# one thread: here for DRENet and the UNet; ImageClassifier's and FineTunedEmbedder's own tests check it
@pytest.mark.parametrize(
    "name, threads",
    [("drenet", 1), ("unet", 1)] + [(name, 2) for name in ESTIMATORS],
    indirect=["threads"],
)
def test_same_random_state_and_thread_count_give_identical_weights(name, data, threads):
    first = ESTIMATORS[name]().fit(*data).module_.state_dict()
    second = ESTIMATORS[name]().fit(*data).module_.state_dict()
    assert torch.get_num_threads() == threads
    for key, value in first.items():
        assert torch.equal(value, second[key]), key
