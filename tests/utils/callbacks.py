"""skorch callbacks for the tests of interrupted and resumed training."""

import random
import signal

import numpy as np
from skorch.callbacks import Callback


class Interrupt(Callback):
    """Send SIGINT (as Ctrl-C does) at a batch of the given epoch."""

    def __init__(self, epoch=None, batch=2):
        self.epoch = epoch
        self.batch = batch

    def on_epoch_begin(self, net, **kwargs):
        self.seen = 0

    def on_batch_end(self, net, training=False, **kwargs):
        self.seen += training
        if training and len(net.history) == self.epoch and self.seen == self.batch:
            signal.raise_signal(signal.SIGINT)


class Record(Callback):
    """Count the epochs run and record draws of numpy's and Python's global generators."""

    def on_train_begin(self, net, **kwargs):
        self.epochs_run = 0

    def on_epoch_begin(self, net, **kwargs):
        self.epochs_run += 1

    def on_epoch_end(self, net, **kwargs):
        net.history.record("draws", [float(np.random.rand()), random.random()])  # noqa: NPY002
