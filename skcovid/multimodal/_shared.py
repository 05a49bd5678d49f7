"""SharedFeatureExtractor: one encoder over the rows of every modality, optionally modality-adversarial."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._param_validation import Interval, StrOptions
from ._net import MLP_CONSTRAINTS, LabelMLP, check_hidden
from ._tabular import batched_apply, canonical_modalities, column_of, wrap_output


class SharedFeatureExtractor(TransformerMixin, LabelMLP, auto_wrap_output_keys=None):
    """Shared features: one MLP encoder trained on the diagnosis over rows of all modalities.

    Without adversarial training it is an MLP learning the diagnosis from every row (X-ray
    and CT alike). With ``adversarial``, a modality discriminator reads the encoder's
    features and learns to tell X-ray from CT, while the encoder learns the diagnosis *and*
    to make the modality unpredictable, so the shared features carry what the modalities
    have in common:

    - ``"gradient_reversal"`` (Ganin & Lempitsky, 2015): a gradient-reversal layer between
      encoder and discriminator; one backward pass updates both players, the encoder
      descending the zero-sum ``CE(diagnosis) - adversarial_weight * CE(modality)``.
    - ``"minimax"``: alternating steps. The discriminator minimises its cross-entropy on the
      true modality; then the encoder minimises ``CE(diagnosis) + adversarial_weight *
      CE(discriminator output, uniform)``, i.e. it makes the discriminator maximally unsure.

    The training loop is plain torch (two players do not fit skorch's single-criterion
    loop); early stopping watches the diagnosis loss on a validation part carved by patient
    from the training rows, and restores the best epoch.

    **Measured modality leakage** (``modality_accuracy_``): after training, the validation
    rows' frozen features are split in two halves by patient; a *fresh* MLP probe trained
    on one half predicts the modality of the other (and vice versa). That is the accuracy an
    outsider reaches on rows the encoder never trained on. Compare it with
    ``modality_chance_`` (the majority-modality share). The discriminator's own accuracy on
    the validation rows is in ``history_``.

    **Modalities**: adversarial training needs each row's modality, read from the
    ``modality`` column of a DataFrame ``X``. A plain array (or a DataFrame without that
    column) with ``adversarial`` set raises a ``ValueError``; with ``adversarial=None`` it
    trains normally (and ``modality_accuracy_`` is NaN).

    Parameters
    ----------
    hidden : tuple of int, default=(1120, 960, 800, 640)
        Encoder layer widths; the last is the number of shared features.
    adversarial : {None, "gradient_reversal", "minimax"}, default=None
    adversarial_weight : float, default=1.0
        Weight of the adversarial term in the encoder's objective.
    discriminator_hidden : tuple of int, default=(64,)
        Hidden widths of the modality discriminator.
    discriminator_lr : float or None, default=None
        Learning rate of the discriminator's Adam optimiser; None uses ``3 * lr``. A
        discriminator that learns faster than the encoder keeps the game honest: against a
        slow one the encoder only has to fool a stale adversary, and a fresh probe still
        reads the modality.
    discriminator_steps : int, default=10
        Discriminator updates per batch (on the detached features of that batch), the
        first of them, with gradient reversal, in the shared backward pass.
    activation, dropout, batch_norm, max_epochs, lr, batch_size, weight_decay, \
validation_fraction, patience, device, random_state, verbose
        As in :class:`TaskSpecificExtractor`. ``validation_fraction`` also sets the rows
        on which the modality probe is measured (None: no validation, no probe).

    Attributes
    ----------
    module_ : MLPClassifierModule
        Encoder (``module_.features``) and diagnosis classifier.
    discriminator_ : ModalityDiscriminator or None
    classes_ : ndarray
        Diagnosis labels.
    modalities_ : ndarray or None
        Modality names, in the order of the discriminator's outputs.
    history_ : DataFrame
        One row per epoch: ``train_diagnosis_loss``, ``train_discriminator_loss``,
        ``train_encoder_loss`` (the encoder's total objective), ``valid_diagnosis_loss``,
        ``valid_discriminator_loss``, ``valid_discriminator_accuracy``, ``dur``, and ``best``
        (True for the epoch whose weights were kept).
    modality_accuracy_ : float
        Held-out probe accuracy (see above); NaN without modalities or validation rows.
    modality_chance_ : float
        Majority-modality share of those rows.
    n_epochs_ : int
        Epochs trained (early stopping may end before ``max_epochs``).
    device_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    Fooling the trained discriminator is not the same as removing the modality: a fresh
    probe often still reads it (Elazar & Goldberg, 2018), which is why the probe is what
    ``modality_accuracy_`` reports. On Gaussian embeddings with a strong modality offset the
    adversary brings the probe from above 0.9 to about 0.6-0.75 (see the tests); on
    embeddings from two *separately* fine-tuned CNNs (one per modality) the spaces differ in
    every direction and the probe stays near 1.0 (``benchmarks/bench_mtl.py``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skcovid.multimodal import SharedFeatureExtractor
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.randn(80, 4), columns=["a", "b", "c", "d"])
    >>> X["modality"] = np.where(np.arange(80) % 2, "xray", "ct")
    >>> y = np.where(X["a"] > 0, "COVID", "Non_COVID")
    >>> shared = SharedFeatureExtractor(hidden=(8, 3), adversarial="gradient_reversal",
    ...                                 max_epochs=2, random_state=0).fit(X, y)
    >>> shared.transform(X).shape, list(shared.history_.columns[:3])
    ((80, 4), ['epoch', 'train_diagnosis_loss', 'train_discriminator_loss'])
    """

    _parameter_constraints = {
        **MLP_CONSTRAINTS,
        "adversarial": [None, StrOptions({"gradient_reversal", "minimax"})],
        "adversarial_weight": [Interval(Real, 0, None, closed="left")],
        "discriminator_hidden": [tuple, list],
        "discriminator_lr": [None, Interval(Real, 0, None, closed="neither")],
        "discriminator_steps": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        hidden=(1120, 960, 800, 640),
        *,
        adversarial=None,
        adversarial_weight=1.0,
        discriminator_hidden=(64,),
        discriminator_lr=None,
        discriminator_steps=10,
        activation="leaky_relu",
        dropout=0.2,
        batch_norm=True,
        max_epochs=30,
        lr=1e-3,
        batch_size=64,
        weight_decay=0.0,
        validation_fraction=0.1,
        patience=5,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden = hidden
        self.adversarial = adversarial
        self.adversarial_weight = adversarial_weight
        self.discriminator_hidden = discriminator_hidden
        self.discriminator_lr = discriminator_lr
        self.discriminator_steps = discriminator_steps
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

    def _modality_codes(self, X):
        modality = column_of(X, "modality")
        if modality is None:
            if self.adversarial is not None:
                raise ValueError(
                    f"adversarial={self.adversarial!r} needs each row's modality: pass X as a DataFrame "
                    "with a 'modality' column ('xray'/'ct'), or set adversarial=None."
                )
            return None, None
        modality = canonical_modalities(modality)
        names, codes = np.unique(modality, return_inverse=True)
        if len(names) < 2:
            if self.adversarial is not None:
                raise ValueError(
                    f"adversarial={self.adversarial!r} needs rows of at least two modalities to make "
                    f"them indistinguishable; got only {names.tolist()}. Set adversarial=None."
                )
            return None, None
        return names, codes.astype(np.int64)

    def fit(self, X, y):
        """Train the encoder (and the discriminator).

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
        from ..modules._adversarial import ModalityDiscriminator
        from ..modules._mlp import MLPClassifierModule
        from ..utils import seed_everything, torch_generator
        from ._shared_training import probe_modality, train_shared
        from ._tabular import validation_indices

        X_all, y_encoded, groups = self._prepare_training_data(X, y)
        hidden = check_hidden(self.hidden, allow_empty=False)
        discriminator_hidden = check_hidden(self.discriminator_hidden, allow_empty=True)
        self.modalities_, modality = self._modality_codes(X)
        seed = seed_everything(self.random_state)
        self.module_ = MLPClassifierModule(
            X_all.shape[1],
            len(self.classes_),
            hidden,
            activation=self.activation,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
        ).to(self.device_)
        self.discriminator_ = (
            None
            if modality is None
            else ModalityDiscriminator(
                hidden[-1],
                len(self.modalities_),
                discriminator_hidden,
                activation=self.activation,
            ).to(self.device_)
        )
        train_idx, valid_idx = validation_indices(
            y_encoded, groups, validation_fraction=self.validation_fraction, random_state=seed
        )
        self.history_ = train_shared(
            self.module_,
            self.discriminator_,
            (X_all, y_encoded, modality),
            train_idx,
            valid_idx,
            mode=self.adversarial,
            weight=float(self.adversarial_weight),
            lr=self.lr,
            discriminator_lr=self.discriminator_lr or 3 * self.lr,
            weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            patience=self.patience,
            device=self.device_,
            generator=torch_generator(seed),
            discriminator_steps=self.discriminator_steps,
            verbose=self.verbose,
        )
        self.modality_accuracy_ = self.modality_chance_ = math.nan
        if modality is not None and valid_idx is not None:
            features = self._encode(X_all[valid_idx])
            self.modality_accuracy_, self.modality_chance_ = probe_modality(
                features,
                modality[valid_idx],
                None if groups is None else groups[valid_idx],
                random_state=seed,
            )
        self.n_epochs_ = len(self.history_)
        return self

    def _encode(self, features):
        self.module_.eval()
        return batched_apply(
            self.module_.features, features, batch_size=max(self.batch_size, 256), device=self.device_
        )

    def transform(self, X):
        """The encoder's features.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The modality is not needed here.

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, hidden[-1])
            ``shared_0 ...`` columns plus the passthrough columns (DataFrame input), or a
            float32 array.
        """
        features, passthrough = self._apply(X, "features")
        return wrap_output(features, X, passthrough, "shared")

    def get_feature_names_out(self, input_features=None):
        """``shared_0 ... shared_{k-1}``."""
        check_is_fitted(self, "module_")
        return np.asarray([f"shared_{i}" for i in range(self.module_.encoder.out_features)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
