"""Adversarial pieces: the gradient-reversal layer and a modality discriminator."""

from __future__ import annotations

import torch
from torch import nn

from ._mlp import MLP


class _GradientReversalFunction(torch.autograd.Function):
    """Identity on the forward pass; multiplies the gradient by ``-weight`` on the way back."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return -ctx.weight * grad_output, None


def gradient_reversal(x, weight=1.0):
    """Apply gradient reversal (Ganin & Lempitsky, 2015) to ``x``.

    Parameters
    ----------
    x : torch.Tensor
    weight : float, default=1.0
        Scale of the reversed gradient.

    Returns
    -------
    torch.Tensor
        ``x`` unchanged; the gradient flowing back through it is ``-weight`` times the
        incoming gradient.

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules._adversarial import gradient_reversal
    >>> x = torch.ones(2, requires_grad=True)
    >>> gradient_reversal(x, 0.5).sum().backward()
    >>> x.grad
    tensor([-0.5000, -0.5000])
    """
    return _GradientReversalFunction.apply(x, float(weight))


class GradientReversal(nn.Module):
    """Module form of :func:`gradient_reversal`.

    Parameters
    ----------
    weight : float, default=1.0
        Scale of the reversed gradient (can be changed during training).
    """

    def __init__(self, weight=1.0):
        super().__init__()
        self.weight = float(weight)

    def forward(self, x):
        return gradient_reversal(x, self.weight)

    def extra_repr(self):
        return f"weight={self.weight}"


class ModalityDiscriminator(nn.Module):
    """An MLP that predicts a row's modality from a feature vector (logits).

    Parameters
    ----------
    n_features : int
        Width of the features it reads.
    n_modalities : int, default=2
    hidden : sequence of int, default=(64,)
    activation : str, default="leaky_relu"
    dropout : float, default=0.0
    batch_norm : bool, default=False
        Batch normalisation in the hidden blocks.
    normalize_input : bool, default=True
        Standardise each input feature with a (non-affine) batch normalisation, so that the
        discriminator, like a probe on standardised features, also sees modality differences
        that the encoder hides in low-variance directions.

    Examples
    --------
    >>> import torch
    >>> from skcovid.modules._adversarial import ModalityDiscriminator
    >>> ModalityDiscriminator(8)(torch.zeros(4, 8)).shape
    torch.Size([4, 2])
    """

    def __init__(
        self,
        n_features,
        n_modalities=2,
        hidden=(64,),
        activation="leaky_relu",
        dropout=0.0,
        batch_norm=False,
        normalize_input=True,
    ):
        super().__init__()
        self.input_norm = nn.BatchNorm1d(int(n_features), affine=False) if normalize_input else nn.Identity()
        self.body = MLP(n_features, hidden, activation=activation, dropout=dropout, batch_norm=batch_norm)
        self.out = nn.Linear(self.body.out_features, int(n_modalities))

    def forward(self, features):
        return self.out(self.body(self.input_norm(features)))
