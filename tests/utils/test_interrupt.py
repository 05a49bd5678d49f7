"""Interrupted training raises and is flagged; checkpointed training resumes exactly.

A small skorch MLP stands in for the image networks: the mechanism (``TrainingRun``)
is the same for every skorch-trained estimator, and an MLP trains in milliseconds.
Ctrl-C is simulated with a real SIGINT raised from a callback.
"""

import signal

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from skcovid.utils import TrainingRun, defer_interrupts, seed_everything, torch_generator, training_callbacks
from skcovid.utils._checkpoint import STATE_FILE
from tests.utils.callbacks import Interrupt, Record


class Dropout(torch.nn.Module):
    """An MLP whose training depends on the global torch RNG (dropout)."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                          torch.nn.Linear(16, 2))

    def forward(self, x):
        return self.layers(x)


class TwoPlayerNet(NeuralNetClassifier):
    """A second module and optimizer, registered as skcovid's AdversarialNet registers its discriminator."""

    def initialize_module(self):
        super().initialize_module()
        self.second_ = torch.nn.Linear(4, 2)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        self.second_optimizer_ = torch.optim.Adam(self.second_.parameters(), lr=0.01)
        return self

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        loss = torch.nn.functional.cross_entropy(self.second_(batch[0]), batch[1])
        self.second_optimizer_.zero_grad()
        loss.backward()
        self.second_optimizer_.step()
        return step


class TinyNet(BaseEstimator):
    """The smallest estimator built like skcovid's: seeded, early stopping, ``TrainingRun``."""

    def __init__(self, max_epochs=8, patience=None, checkpoint=None, random_state=0, callbacks=None, lr=0.05,
                 net=NeuralNetClassifier):
        self.net = net
        self.max_epochs = max_epochs
        self.patience = patience
        self.checkpoint = checkpoint
        self.random_state = random_state
        self.callbacks = callbacks
        self.lr = lr

    def fit(self, X, y):
        seed = seed_everything(self.random_state)
        run = TrainingRun(self, checkpoint=self.checkpoint, data=(X, y))
        self.net_ = self.net(
            Dropout, criterion=torch.nn.CrossEntropyLoss, max_epochs=self.max_epochs, lr=self.lr,
            batch_size=16, train_split=ValidSplit(4),
            iterator_train__shuffle=True, iterator_train__generator=torch_generator(seed), verbose=0,
            callbacks=training_callbacks(has_validation=True, patience=self.patience)
            + list(self.callbacks or []) + run.callbacks(),
        )
        with run:
            self.net_.fit(X, y, **run.fit_params(self.max_epochs))
        self.resumed_epochs_ = run.resumed_epochs
        return self


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 4)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=96) > 0).astype(np.int64)
    return X, y


def test_ctrl_c_raises_flags_and_keeps_the_partial_model(data):
    handler = signal.getsignal(signal.SIGINT)
    model = TinyNet(callbacks=[("interrupt", Interrupt(epoch=3))])
    with pytest.raises(KeyboardInterrupt, match="TinyNet.fit was interrupted in epoch 3 of 8"):
        model.fit(*data)
    assert model.fit_interrupted_ is True
    assert len(model.net_.history) == 3 and model.net_.predict(data[0]).shape == (96,)
    assert signal.getsignal(signal.SIGINT) is handler
    model.set_params(callbacks=None).fit(*data)
    assert model.fit_interrupted_ is False and len(model.net_.history) == 8


def test_early_stopping_is_not_an_interruption(data):
    class StopAtTwo(Callback):  # skorch's way of ending training early
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    model = TinyNet(callbacks=[("stop", StopAtTwo())]).fit(*data)
    assert model.fit_interrupted_ is False and len(model.net_.history) == 2


def test_defer_interrupts_delivers_ctrl_c_after_the_block():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with defer_interrupts():
            signal.raise_signal(signal.SIGINT)
            done.append("rest of the block")
    assert done == ["rest of the block"]


def _weights(model):
    modules = [name for name in model.net_._modules if name != "module"]
    weights = {f"{name}.{key}": value for name in modules
               for key, value in getattr(model.net_, name + "_").state_dict().items()}
    return {**model.net_.module_.state_dict(), **weights}


def _assert_same_training(resumed, reference):
    assert resumed.net_.history[:, "epoch"] == reference.net_.history[:, "epoch"]
    for key in ("train_loss", "valid_loss", "draws", "valid_loss_best"):
        assert resumed.net_.history[:, key] == reference.net_.history[:, key], key
    reference_weights = _weights(reference)
    for name, value in _weights(resumed).items():
        assert torch.equal(value, reference_weights[name]), name


@pytest.mark.parametrize(
    "patience, lr, epoch",
    # with early stopping: best epoch 4, interrupted in epoch 6, stopped after epoch 7
    [(None, 0.05, 3), (3, 2.0, 6)],
)
@pytest.mark.parametrize("net", [NeuralNetClassifier, TwoPlayerNet])
def test_resumed_fit_runs_the_remaining_epochs_and_ends_like_an_uninterrupted_one(data, tmp_path, patience,
                                                                                  lr, epoch, net):
    params = {"patience": patience, "lr": lr, "net": net}
    reference = TinyNet(**params, callbacks=[("record", Record())]).fit(*data)
    interrupted = TinyNet(**params, checkpoint=tmp_path,
                          callbacks=[("record", Record()), ("interrupt", Interrupt(epoch=epoch))])
    with pytest.raises(KeyboardInterrupt, match="Fit again to resume"):
        interrupted.fit(*data)
    assert len(list(tmp_path.iterdir())) == 1  # one run folder, holding the epochs before `epoch`
    record = Record()
    resumed = TinyNet(**params, checkpoint=tmp_path, callbacks=[("record", record)]).fit(*data)
    assert resumed.resumed_epochs_ == epoch - 1
    assert record.epochs_run == len(reference.net_.history) - (epoch - 1)
    _assert_same_training(resumed, reference)
    assert list(tmp_path.iterdir()) == []  # a completed fit deletes its saved state


def test_ctrl_c_while_saving_leaves_a_whole_checkpoint(data, tmp_path, monkeypatch):
    save_params = NeuralNetClassifier.save_params

    def interrupted_at_epoch_2(net, **files):
        if len(net.history) == 2:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of saving epoch 2
        save_params(net, **files)

    monkeypatch.setattr(NeuralNetClassifier, "save_params", interrupted_at_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        TinyNet(checkpoint=tmp_path, callbacks=[("record", Record())]).fit(*data)
    monkeypatch.undo()
    resumed = TinyNet(checkpoint=tmp_path, callbacks=[("record", Record())]).fit(*data)
    assert resumed.resumed_epochs_ == 2  # epoch 2 was saved whole before the interrupt landed
    _assert_same_training(resumed, TinyNet(callbacks=[("record", Record())]).fit(*data))


def test_other_parameters_or_data_start_afresh(data, tmp_path):
    X, y = data
    with pytest.raises(KeyboardInterrupt):
        TinyNet(checkpoint=tmp_path, callbacks=[("interrupt", Interrupt(epoch=3))]).fit(X, y)
    other_data = TinyNet(checkpoint=tmp_path).fit(X[:80], y[:80])
    other_params = TinyNet(checkpoint=tmp_path, max_epochs=5).fit(X, y)
    assert other_data.resumed_epochs_ == other_params.resumed_epochs_ == 0
    (kept,) = tmp_path.iterdir()
    assert (kept / STATE_FILE).is_file()  # the interrupted run can still be resumed
    assert TinyNet(checkpoint=tmp_path).fit(X, y).resumed_epochs_ == 2


def test_a_run_killed_while_swapping_epochs_is_recovered(data, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        TinyNet(checkpoint=tmp_path, callbacks=[("interrupt", Interrupt(epoch=3))]).fit(*data)
    (folder,) = tmp_path.iterdir()
    folder.rename(folder.with_name(folder.name + ".old"))  # killed between the two renames
    folder.mkdir()
    assert TinyNet(checkpoint=tmp_path).fit(*data).resumed_epochs_ == 2


@pytest.mark.parametrize("random_state", [None, np.random.RandomState(0)])
def test_checkpoint_needs_an_int_random_state(data, tmp_path, random_state):
    with pytest.raises(ValueError, match="needs an int random_state.*random_state=0"):
        TinyNet(checkpoint=tmp_path, random_state=random_state).fit(*data)
