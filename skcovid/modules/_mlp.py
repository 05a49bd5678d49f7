"""Multi-layer perceptrons: the blocks of the task-specific, shared and head networks."""

from __future__ import annotations

from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
}


def make_activation(name):
    """Return a fresh activation module by name (a key of ``ACTIVATIONS``)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"Unknown activation {name!r}; use one of {sorted(ACTIVATIONS)}.") from None


class MLP(nn.Sequential):
    """A stack of ``Linear -> [BatchNorm1d] -> activation -> [Dropout]`` blocks.

    Parameters
    ----------
    in_features : int
        Width of the input.
    hidden : sequence of int
        Width of each hidden layer; empty gives the identity.
    activation : str, default="leaky_relu"
        One of "relu", "leaky_relu", "gelu", "elu" and "tanh".
    dropout : float, default=0.0
        Dropout probability after each block (0 disables it).
    batch_norm : bool, default=True
        Batch normalisation before each activation.

    Attributes
    ----------
    out_features : int
        Width of the output (the last hidden layer, or ``in_features``).

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules._mlp import MLP
    >>> MLP(6, (4, 3))(torch.zeros(5, 6)).shape
    torch.Size([5, 3])
    """

    def __init__(self, in_features, hidden=(), activation="leaky_relu", dropout=0.0, batch_norm=True):
        layers = []
        width = int(in_features)
        for size in hidden:
            layers.append(nn.Linear(width, int(size)))
            if batch_norm:
                layers.append(nn.BatchNorm1d(int(size)))
            layers.append(make_activation(activation))
            if dropout:
                layers.append(nn.Dropout(float(dropout)))
            width = int(size)
        super().__init__(*layers)
        self.out_features = width


class MLPClassifierModule(nn.Module):
    """An :class:`MLP` encoder followed by a linear layer of class logits.

    ``forward(x)`` returns the logits ``(n, n_classes)``; ``features(x)`` returns the
    encoder's output (the last hidden layer), which is what the feature extractors emit.

    Parameters
    ----------
    n_features : int
    n_classes : int
    hidden : sequence of int, default=()
    activation : str, default="leaky_relu"
    dropout : float, default=0.0
    batch_norm : bool, default=True

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules._mlp import MLPClassifierModule
    >>> module = MLPClassifierModule(6, 2, hidden=(4,))
    >>> module(torch.zeros(3, 6)).shape, module.features(torch.zeros(3, 6)).shape
    (torch.Size([3, 2]), torch.Size([3, 4]))
    """

    def __init__(
        self, n_features, n_classes, hidden=(), activation="leaky_relu", dropout=0.0, batch_norm=True
    ):
        super().__init__()
        self.encoder = MLP(n_features, hidden, activation=activation, dropout=dropout, batch_norm=batch_norm)
        self.classifier = nn.Linear(self.encoder.out_features, int(n_classes))

    def features(self, x):
        """The encoder's output for ``x``."""
        return self.encoder(x)

    def forward(self, x):
        return self.classifier(self.encoder(x))
