"""ClassifierHead: the MLP classifier on top of the task-specific and shared features."""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.special import softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight

from ..utils._param_validation import Interval, StrOptions
from ._net import MLP_CONSTRAINTS, LabelMLP


class ClassifierHead(ClassifierMixin, LabelMLP):
    """An MLP classifier over feature columns (binary or multiclass), trained with skorch.

    The last step of the multi-modal multi-task pipeline: it reads the concatenated
    task-specific and shared features (``modality``/``patient`` columns are ignored as
    features) and predicts the diagnosis. Loss is cross-entropy or focal loss
    (:class:`skcovid.modules.FocalLoss`), optionally class-weighted; early stopping on a
    validation part carved by patient from the training rows.

    Parameters
    ----------
    hidden : tuple of int, default=(320, 80, 20)
        Hidden layer widths; ``()`` gives a (multinomial) logistic regression.
    loss : {"cross_entropy", "focal"}, default="cross_entropy"
    focal_gamma : float, default=2.0
        Focusing parameter of the focal loss (ignored for cross-entropy).
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes in the loss: "balanced" (inverse frequency) or
        ``{label: weight}`` (missing labels get 1).
    standardize : bool, default=True
        Standardise each input column with its training mean and standard deviation
        (texture features span very different scales).
    activation : {"leaky_relu", "relu", "gelu", "elu", "tanh"}, default="leaky_relu"
    dropout : float, default=0.2
    batch_norm : bool, default=True
    max_epochs : int, default=50
    lr : float, default=1e-3
    batch_size : int, default=64
    weight_decay : float, default=0.0
    validation_fraction : float or None, default=0.1
        Share of training rows (grouped by ``patient`` when present) for early stopping.
    patience : int or None, default=5
    device : str, default="auto"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    classes_ : ndarray
        The labels as given in ``y`` (e.g. ``["COVID", "Non_COVID"]``).
    net_ : skorch.NeuralNet
    module_ : MLPClassifierModule
        Maps a float tensor of features to class logits.
    history_ : skorch.History
    device_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.multimodal import ClassifierHead
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 4)
    >>> y = np.where(X[:, 0] > 0, "COVID", "Non_COVID")
    >>> head = ClassifierHead(hidden=(8,), max_epochs=5, lr=0.01, random_state=0).fit(X, y)
    >>> head.classes_.tolist(), head.predict_proba(X[:2]).shape
    (['COVID', 'Non_COVID'], (2, 2))
    """

    _parameter_constraints = {
        **MLP_CONSTRAINTS,
        "loss": [StrOptions({"cross_entropy", "focal"})],
        "focal_gamma": [Interval(Real, 0, None, closed="left")],
        "class_weight": [None, StrOptions({"balanced"}), dict],
    }
    _allow_empty_hidden = True

    def __init__(
        self,
        hidden=(320, 80, 20),
        *,
        standardize=True,
        loss="cross_entropy",
        focal_gamma=2.0,
        class_weight=None,
        activation="leaky_relu",
        dropout=0.2,
        batch_norm=True,
        max_epochs=50,
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
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.class_weight = class_weight
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

    def _criterion_params(self, y_encoded):
        gamma = float(self.focal_gamma) if self.loss == "focal" else 0.0
        if self.class_weight is None:
            return {"gamma": gamma, "alpha": None}
        if isinstance(self.class_weight, dict):
            unknown = [k for k in self.class_weight if k not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(
                    f"class_weight names labels {unknown} that are not in y "
                    f"(labels: {self.classes_.tolist()})."
                )
            alpha = [float(self.class_weight.get(label, 1.0)) for label in self.classes_.tolist()]
        else:
            alpha = compute_class_weight("balanced", classes=np.arange(len(self.classes_)), y=y_encoded)
        return {"gamma": gamma, "alpha": [float(a) for a in alpha]}

    def fit(self, X, y):
        """Train the head.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : ClassifierHead
        """
        return self._fit_network(X, y)

    def decision_function(self, X):
        """Logits: the positive-minus-negative logit (binary, shape (n,)) or all logits (n, k)."""
        logits, _ = self._apply(X, "forward")
        logits = logits.astype(np.float64)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        logits, _ = self._apply(X, "forward")
        return softmax(logits.astype(np.float64), axis=1)

    def predict(self, X):
        """The most probable class label of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
