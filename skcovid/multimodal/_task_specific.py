"""TaskSpecificExtractor: an MLP trained on the diagnosis whose last hidden layer is the feature."""

from __future__ import annotations

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._net import MLP_CONSTRAINTS, LabelMLP
from ._tabular import FrameOutputMixin, wrap_output


class TaskSpecificExtractor(FrameOutputMixin, TransformerMixin, LabelMLP, auto_wrap_output_keys=None):
    """Task-specific features: an MLP trained on the diagnosis labels, read at its last hidden layer.

    The MLP (``Linear -> BatchNorm -> activation -> Dropout`` blocks, then a linear layer of
    class logits used only for training) is trained with skorch (Adam, cross-entropy), with
    early stopping on a validation part carved *by patient* from the training rows.
    ``transform`` returns the last hidden layer (evaluation mode). Use one per modality,
    routed with :class:`ModalityRouter`.

    Parameters
    ----------
    hidden : tuple of int, default=(1120, 960, 800, 640)
        Widths of the hidden layers; the last one is the number of output features.
    standardize : bool, default=True
        Standardise each input column with its training mean and standard deviation
        (texture features span very different scales).
    activation : {"leaky_relu", "relu", "gelu", "elu", "tanh"}, default="leaky_relu"
    dropout : float, default=0.2
        Dropout after each hidden block (training only).
    batch_norm : bool, default=True
        Batch normalisation in each hidden block.
    max_epochs : int, default=30
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=64
    weight_decay : float, default=0.0
        Adam weight decay.
    validation_fraction : float or None, default=0.1
        Share of the training rows (grouped by the ``patient`` column when present) held out
        for early stopping; None disables it. Skipped for fewer than 20 rows.
    patience : int or None, default=5
        Epochs without improvement of the validation loss before stopping (the best epoch
        is restored).
    device : str, default="auto"
        "auto", "cpu" or "cuda".
    random_state : int, RandomState instance or None, default=None
        Seeds weights, shuffling and the validation split.
    verbose : int, default=0
        skorch's per-epoch log when positive.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network.
    module_ : MLPClassifierModule
        Its torch module (``features(x)`` gives the extracted features).
    classes_ : ndarray
        The diagnosis labels.
    history_ : skorch.History
    device_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Feature column names, when fitted on a DataFrame.

    See Also
    --------
    ModalityRouter : one extractor per modality.
    SharedFeatureExtractor : one extractor for all modalities, optionally adversarial.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skcovid.multimodal import TaskSpecificExtractor
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.randn(40, 5), columns=[f"emb_{i}" for i in range(5)])
    >>> X["modality"] = "xray"
    >>> y = np.where(X["emb_0"] > 0, "COVID", "Non_COVID")
    >>> extractor = TaskSpecificExtractor(hidden=(8, 4), max_epochs=2, random_state=0).fit(X, y)
    >>> list(extractor.transform(X).columns)
    ['task_0', 'task_1', 'task_2', 'task_3', 'modality']
    """

    _parameter_constraints = dict(MLP_CONSTRAINTS)

    def __init__(
        self,
        hidden=(1120, 960, 800, 640),
        *,
        standardize=True,
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
        self.standardize = standardize
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

    def fit(self, X, y):
        """Train the MLP on the diagnosis labels.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Numeric feature columns; ``modality``/``patient`` columns are ignored as features
            (``patient`` groups the early-stopping split).
        y : array-like of shape (n_samples,)
            Diagnosis labels (e.g. "COVID" / "Non_COVID").

        Returns
        -------
        self : TaskSpecificExtractor
        """
        return self._fit_network(X, y)

    def transform(self, X):
        """The last hidden layer's activations.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, hidden[-1])
            ``task_0 ...`` columns plus the passthrough columns, with ``X``'s index, for a
            DataFrame; a float32 array for an array.
        """
        features, passthrough = self._apply(X, "features")
        return wrap_output(features, X, passthrough, "task")

    def get_feature_names_out(self, input_features=None):
        """``task_0 ... task_{k-1}`` (passthrough columns are appended at transform)."""
        check_is_fitted(self, "module_")
        return np.asarray([f"task_{i}" for i in range(self.module_.encoder.out_features)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
