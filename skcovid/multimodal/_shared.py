"""SharedFeatureExtractor: one encoder over the rows of every modality, optionally modality-adversarial."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils import TrainingRun
from ..utils._param_validation import Interval, StrOptions
from ._net import MLP_CONSTRAINTS, LabelMLP, check_hidden, small_network_threads
from ._tabular import FrameOutputMixin, canonical_modalities, column_of, wrap_output


class SharedFeatureExtractor(FrameOutputMixin, TransformerMixin, LabelMLP, auto_wrap_output_keys=None):
    """Shared features: one MLP encoder trained on the diagnosis over the rows of all modalities.

    The encoder reads every row (X-ray and CT alike) and learns the diagnosis. With
    ``adversarial`` (the default), a modality discriminator reads the encoder's features
    and learns to tell the modalities apart while the encoder learns the diagnosis *and*
    to make the modality unpredictable, so that the shared features carry what the
    modalities have in common (Ganin & Lempitsky, 2015):

    - ``"gradient_reversal"``: a gradient-reversal layer between encoder and discriminator;
      one backward pass updates both players.
    - ``"minimax"``: the same game in alternating steps; the discriminator minimises its
      cross-entropy, then the encoder maximises the updated discriminator's cross-entropy.

    Training runs in skorch (a ``NeuralNet`` whose training step plays both players, the
    same engine as every network of skcovid). Five choices make the adversary work
    at the defaults:

    1. **One space, standardised per modality** (``standardize="modality"``): each input
       column is standardised with the mean and standard deviation of the row's modality
       (learnt in ``fit``), so that first-order differences between modalities are gone
       before the encoder starts. Feed it one representation of both modalities (one
       embedder for all rows; :func:`make_mtl_pipeline` does).
    2. **Ganin & Lempitsky's ramp**: the adversarial weight grows as
       ``λ_p = adversarial_weight · (2 / (1 + exp(-10 p)) - 1)`` over training progress
       ``p``, so the encoder first finds the diagnosis; ``lr_annealing=True`` also
       anneals both learning rates as ``lr / (1 + 10 p) ** 0.75``.
    3. **A discriminator that keeps up**: two hidden layers of 128 (wider than the probe
       that judges the result, :func:`probe_modality`), a faster learning rate than the
       encoder, and ``discriminator_steps`` updates per batch (the batch itself, then
       random other training rows, so it tracks the whole training set, not one batch).
    4. **Model selection that respects invariance**: after each epoch a *fresh*
       discriminator is trained on half of the validation rows' features and scored on
       the other half (and the halves swapped): the adversary itself can be fooled while
       the modality stays readable (Elazar & Goldberg, 2018). Among the epochs where that
       balanced accuracy is within ``invariance_tolerance`` of chance, the one with the
       best validation diagnosis loss is kept; if none is, the most invariant one. Early
       stopping counts ``patience`` epochs from the first such epoch. The validation rows
       are carved from the training rows by patient.
    5. **A narrow shared code** (``hidden=(256, 8)``): the shared branch carries what the
       modalities have in common, which is little; eight features leave the encoder
       little room to keep the modality in directions the adversary does not watch, while
       the diagnosis stays in them (the task branches carry the rest). On the real scans'
       Train split, a patient-grouped probe read the modality from 32 shared features with
       balanced accuracy 0.63-0.70 over three seeds, from 8 with 0.50-0.54.

    Measuring leakage on new rows is opt-in: call :func:`probe_modality` on
    ``transform``'s output; fitting never pays for it. The encoder has no dropout or
    batch normalisation by default, so that the features the discriminator plays against
    in training are exactly those ``transform`` returns.

    **Modalities** are read from the ``modality`` column of a DataFrame ``X``. Adversarial
    training needs rows of at least two modalities; a plain array (or no ``modality``
    column) needs ``adversarial=None`` (then all rows are standardised together).

    Parameters
    ----------
    hidden : tuple of int, default=(256, 8)
        Encoder layer widths; the last is the number of shared features (see 5. above).
    adversarial : {"gradient_reversal", "minimax", None}, default="gradient_reversal"
    adversarial_weight : float, default=1.0
        Final weight λ of the adversarial term (reached by the ramp).
    standardize : {"modality", "global", None}, default="modality"
        Input standardisation: per modality, over all rows, or none.
    discriminator_hidden : tuple of int, default=(128, 128)
        Hidden widths of the modality discriminator.
    discriminator_lr : float or None, default=3e-3
        Adam learning rate of the discriminator; None uses ``lr``.
    discriminator_steps : int, default=5
        Discriminator updates per batch (see 3. above).
    refresh_discriminator : int, default=0
        When positive, each epoch starts with a new discriminator trained this many
        full-batch steps on the current features.
    invariance_tolerance : float, default=0.05
        How far from chance the fresh validation discriminator's balanced accuracy may be
        for an epoch to be kept (see 4. above).
    lr_annealing : bool, default=False
        Ganin & Lempitsky's learning-rate annealing of both players.
    activation, dropout, batch_norm, max_epochs, lr, batch_size, weight_decay, \
validation_fraction, patience, device, random_state, verbose
        As in :class:`TaskSpecificExtractor`, except ``dropout=0``, ``batch_norm=False``,
        ``validation_fraction=0.2`` and ``patience=10`` (counted from the first invariant
        epoch).

    Attributes
    ----------
    net_ : AdversarialNet
        The trained skorch net (``net_.discriminator_`` is the discriminator).
    module_ : MLPClassifierModule
        Encoder (``module_.features``) and diagnosis classifier.
    discriminator_ : torch.nn.Module
    classes_ : ndarray
        Diagnosis labels.
    modalities_ : ndarray
        Modality names, in the order of the discriminator's outputs (``["all"]`` without
        modalities).
    scaler_ : dict of {str: (ndarray, ndarray)}
        Per modality (or ``"all"``), the mean and standard deviation of the input columns.
    history_ : skorch.History
        Per epoch: ``train_loss`` / ``valid_loss`` (diagnosis), ``train_discriminator_loss``,
        ``valid_discriminator_loss``, ``valid_discriminator_balanced_accuracy`` (the
        adversary), ``valid_probe_balanced_accuracy`` (the fresh discriminator; adversarial
        modes only), ``adversarial_weight``, ``invariant`` and ``selected`` (the kept
        epoch).
    n_epochs_ : int
        Epochs trained.
    device_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    probe_modality : how well a fresh classifier reads the modality from features.

    Notes
    -----
    Fooling the trained discriminator is not the same as removing the modality (Elazar &
    Goldberg, 2018): judge the features with :func:`probe_modality` on rows the encoder did
    not train on.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skcovid.multimodal import SharedFeatureExtractor
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.randn(80, 4), columns=["a", "b", "c", "d"])
    >>> X["modality"] = np.where(np.arange(80) % 2, "xray", "ct")
    >>> y = np.where(X["a"] > 0, "COVID", "Non_COVID")
    >>> shared = SharedFeatureExtractor(hidden=(8, 3), max_epochs=2, random_state=0).fit(X, y)
    >>> shared.transform(X).shape
    (80, 4)
    """

    _parameter_constraints = {
        **MLP_CONSTRAINTS,
        "adversarial": [None, StrOptions({"gradient_reversal", "minimax"})],
        "adversarial_weight": [Interval(Real, 0, None, closed="left")],
        "standardize": [None, StrOptions({"modality", "global"})],
        "discriminator_hidden": [tuple, list],
        "discriminator_lr": [None, Interval(Real, 0, None, closed="neither")],
        "discriminator_steps": [Interval(Integral, 1, None, closed="left")],
        "refresh_discriminator": [Interval(Integral, 0, None, closed="left")],
        "invariance_tolerance": [Interval(Real, 0, None, closed="left")],
        "lr_annealing": ["boolean"],
    }

    def __init__(
        self,
        hidden=(256, 8),
        *,
        adversarial="gradient_reversal",
        adversarial_weight=1.0,
        standardize="modality",
        discriminator_hidden=(128, 128),
        discriminator_lr=3e-3,
        discriminator_steps=5,
        refresh_discriminator=0,
        invariance_tolerance=0.05,
        lr_annealing=False,
        activation="leaky_relu",
        dropout=0.0,
        batch_norm=False,
        max_epochs=30,
        lr=1e-3,
        batch_size=64,
        weight_decay=0.0,
        validation_fraction=0.2,
        patience=10,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden = hidden
        self.adversarial = adversarial
        self.adversarial_weight = adversarial_weight
        self.standardize = standardize
        self.discriminator_hidden = discriminator_hidden
        self.discriminator_lr = discriminator_lr
        self.discriminator_steps = discriminator_steps
        self.refresh_discriminator = refresh_discriminator
        self.invariance_tolerance = invariance_tolerance
        self.lr_annealing = lr_annealing
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _modalities(self, X, *, fitting):
        """Canonical modality of each row, or None (no ``modality`` column)."""
        modality = column_of(X, "modality")
        if modality is None:
            if fitting and self.adversarial is not None:
                raise ValueError(
                    f"adversarial={self.adversarial!r} needs each row's modality: pass X as a DataFrame "
                    "with a 'modality' column ('xray'/'ct'), or set adversarial=None."
                )
            return None
        return canonical_modalities(modality)

    def _fit_scaler(self, features, modality):
        keys = np.full(len(features), "all", dtype=object) if modality is None else modality
        if self.standardize != "modality":
            keys = np.full(len(features), "all", dtype=object)
        self.scaler_ = {}
        for key in np.unique(keys):
            rows = features[keys == key]
            mean, std = rows.mean(axis=0), rows.std(axis=0)
            if self.standardize is None:
                mean, std = np.zeros_like(mean), np.ones_like(std)
            self.scaler_[key] = (mean.astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32))

    def _standardized(self, features, modality):
        if set(self.scaler_) == {"all"}:
            mean, std = self.scaler_["all"]
            return (features - mean) / std
        if modality is None:
            raise ValueError(
                "This SharedFeatureExtractor standardises each modality with its own statistics "
                "(standardize='modality'): pass X as a DataFrame with a 'modality' column."
            )
        unknown = sorted(set(modality) - set(self.scaler_))
        if unknown:
            raise ValueError(
                f"X has rows of modality {unknown}, unseen in fit (known: {sorted(self.scaler_)}); "
                "fit on rows of that modality or drop them."
            )
        out = np.empty_like(features)
        for key, (mean, std) in self.scaler_.items():
            rows = modality == key
            out[rows] = (features[rows] - mean) / std
        return out

    def fit(self, X, y):
        """Train the encoder against the discriminator.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Numeric feature columns plus ``modality`` (needed when adversarial) and
            optionally ``patient`` (groups the validation split).
        y : array-like of shape (n_samples,)
            Diagnosis labels.

        Returns
        -------
        self : SharedFeatureExtractor
        """
        from skorch.dataset import Dataset

        from ..modules import FocalLoss
        from ..modules._adversarial import ModalityDiscriminator
        from ..modules._mlp import MLPClassifierModule
        from ..utils import seed_everything
        from ._adversarial_net import AdversarialNet, AdversarialSchedule, InvariantCheckpoint
        from ._tabular import validation_indices

        X_all, y_encoded, groups = self._prepare_training_data(X, y)
        hidden = check_hidden(self.hidden, allow_empty=False)
        discriminator_hidden = check_hidden(self.discriminator_hidden, allow_empty=True)
        modality = self._modalities(X, fitting=True)
        if modality is None:
            self.modalities_, codes = np.asarray(["all"], dtype=object), np.zeros(len(X_all), np.int64)
        else:
            self.modalities_, codes = np.unique(modality, return_inverse=True)
        if self.adversarial is not None and len(self.modalities_) < 2:
            raise ValueError(
                f"adversarial={self.adversarial!r} needs rows of at least two modalities to make "
                f"them indistinguishable; got only {self.modalities_.tolist()}. Set adversarial=None."
            )
        self._fit_scaler(X_all, modality)
        X_all = self._standardized(X_all, modality)
        targets = np.column_stack([y_encoded, codes]).astype(np.int64)
        seed = seed_everything(self.random_state)
        train_idx, valid_idx = validation_indices(
            y_encoded, groups, validation_fraction=self.validation_fraction, random_state=seed
        )
        valid = None if valid_idx is None else Dataset(X_all[valid_idx], targets[valid_idx])
        n_modalities = max(len(self.modalities_), 2)
        tolerance = math.inf if self.adversarial is None else float(self.invariance_tolerance)
        selection = InvariantCheckpoint(tolerance, patience=self.patience, n_modalities=n_modalities)
        self.net_ = AdversarialNet(
            MLPClassifierModule,
            **self._module_params(X_all.shape[1], hidden),
            discriminator=ModalityDiscriminator,
            discriminator__n_features=hidden[-1],
            discriminator__n_modalities=n_modalities,
            discriminator__hidden=discriminator_hidden,
            discriminator__activation=self.activation,
            adversarial=self.adversarial,
            adversarial_weight=float(self.adversarial_weight),
            discriminator_lr=self.discriminator_lr,
            discriminator_steps=self.discriminator_steps,
            refresh_discriminator=self.refresh_discriminator,
            criterion=FocalLoss,
            criterion__gamma=0.0,
            callbacks=[
                ("schedule", AdversarialSchedule(anneal_lr=self.lr_annealing)),
                ("selection", selection),
            ],
            **self._skorch_kwargs(len(train_idx), seed, valid),
        )
        with TrainingRun(self), small_network_threads(self.device_):  # Ctrl-C raises, not returns
            self.net_.fit(X_all[train_idx], targets[train_idx])
            self.module_ = self.net_.module_
            self.discriminator_ = self.net_.discriminator_
            self.history_ = self.net_.history
            self.n_epochs_ = len(self.history_)
        return self

    def transform(self, X):
        """The encoder's features.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            With ``standardize="modality"`` (fitted on several modalities), a DataFrame
            with a ``modality`` column.

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, hidden[-1])
            ``shared_0 ...`` columns plus the passthrough columns (DataFrame input), or a
            float32 array.
        """
        from ._tabular import batched_apply

        check_is_fitted(self, "module_")
        features, passthrough = self._check_features(X, reset=False)
        modality = self._modalities(X, fitting=False)
        features = self._standardized(np.asarray(features, dtype=np.float32), modality)
        self.module_.eval()
        Z = batched_apply(
            self.module_.features, features, batch_size=max(self.batch_size, 256), device=self.device_
        )
        return wrap_output(Z, X, passthrough, "shared")

    def get_feature_names_out(self, input_features=None):
        """``shared_0 ... shared_{k-1}``."""
        check_is_fitted(self, "module_")
        return np.asarray([f"shared_{i}" for i in range(self.module_.encoder.out_features)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
