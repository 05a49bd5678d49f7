"""The standard multi-modal multi-task system, as a Pipeline or as one classifier."""

from __future__ import annotations

from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._features import MultiTaskFeatures
from ._fusion import predict_patients
from ._head import ClassifierHead
from ._router import ModalityRouter
from ._shared import SharedFeatureExtractor
from ._task_specific import TaskSpecificExtractor

DEFAULT_HIDDEN = (1120, 960, 800, 640)


def make_embedder(
    embedder="fine_tuned",
    *,
    backbone="resnet18",
    weights=None,
    image_size=224,
    max_epochs=10,
    device="auto",
    cache=None,
    random_state=None,
    **params,
):
    """An image embedder by name: ``"fine_tuned"`` or ``"pretrained"`` (or an estimator, returned as is).

    Extra keyword ``params`` go to the embedder (e.g. ``hidden=256``, ``batch_size=64``).
    ``max_epochs`` applies to the fine-tuned embedder only.
    """
    from ..embedders import FineTunedEmbedder, PretrainedEmbedder

    common = dict(
        weights=weights,
        image_size=image_size,
        device=device,
        cache=cache,
        random_state=random_state,
        **params,
    )
    if embedder == "fine_tuned":
        return FineTunedEmbedder(backbone, max_epochs=max_epochs, **common)
    if embedder == "pretrained":
        return PretrainedEmbedder(backbone, **common)
    if hasattr(embedder, "fit") and hasattr(embedder, "transform"):
        return embedder
    raise ValueError(f"embedder must be 'fine_tuned', 'pretrained', None or a transformer; got {embedder!r}.")


def make_mtl_pipeline(
    *,
    backbone="resnet18",
    embedder="fine_tuned",
    weights=None,
    image_size=224,
    embedder_max_epochs=10,
    embedder_params=None,
    adversarial="gradient_reversal",
    adversarial_weight=1.0,
    task_hidden=DEFAULT_HIDDEN,
    shared_hidden=DEFAULT_HIDDEN,
    head_hidden=(320, 80, 20),
    head_loss="cross_entropy",
    max_epochs=30,
    lr=1e-3,
    batch_size=64,
    device="auto",
    cache=None,
    random_state=None,
    modalities=("xray", "ct"),
):
    """The multi-modal multi-task system as a plain scikit-learn ``Pipeline``.

    Steps:

    1. ``"embed"``: ``ModalityRouter({"xray": embedder, "ct": embedder})`` -- one CNN
       embedder per modality (left out when ``embedder=None``: the input is then a
       DataFrame of embeddings with ``modality`` and ``patient`` columns);
    2. ``"features"``: :class:`MultiTaskFeatures` of the routed
       :class:`TaskSpecificExtractor` (one per modality) and the
       :class:`SharedFeatureExtractor` over all rows (adversarial or not);
    3. ``"head"``: :class:`ClassifierHead`.

    Every part is reachable for ``GridSearchCV``: ``embed__xray__backbone``,
    ``features__task__ct__hidden``, ``features__shared__adversarial``, ``head__loss``.

    Parameters
    ----------
    backbone : str, default="resnet18"
        torchvision backbone of the embedders.
    embedder : {"fine_tuned", "pretrained"}, transformer or None, default="fine_tuned"
        The image embedder (cloned per modality), or None for embeddings as input.
    weights : None, str or path-like, default=None
        Backbone weights (None: random initialisation; a torchvision name; a local file).
    image_size : int, default=224
    embedder_max_epochs : int, default=10
        Fine-tuning epochs of the fine-tuned embedder.
    embedder_params : dict, optional
        More embedder parameters (e.g. ``{"hidden": 256, "num_workers": 2}``).
    adversarial : {None, "gradient_reversal", "minimax"}, default="gradient_reversal"
        Adversarial training of the shared features against a modality discriminator.
    adversarial_weight : float, default=1.0
    task_hidden, shared_hidden : tuple of int, default=(1120, 960, 800, 640)
        Hidden layers of the task-specific and shared extractors.
    head_hidden : tuple of int, default=(320, 80, 20)
    head_loss : {"cross_entropy", "focal"}, default="cross_entropy"
    max_epochs : int, default=30
        Epochs of the extractors and the head (with early stopping).
    lr : float, default=1e-3
        Adam learning rate of the extractors and the head.
    batch_size : int, default=64
        Batch size of the extractors and the head.
    device : str, default="auto"
    cache : None, True or path-like, default=None
        Embedding cache of the embedders (see :class:`~skcovid.embedders.PretrainedEmbedder`).
    random_state : int or None, default=None
    modalities : tuple of str, default=("xray", "ct")
        The modalities routed (each needs training rows).

    Returns
    -------
    Pipeline

    Examples
    --------
    >>> from skcovid.multimodal import make_mtl_pipeline
    >>> pipe = make_mtl_pipeline(embedder="pretrained", image_size=64, random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['embed', 'features', 'head']
    >>> pipe.get_params()["features__shared__adversarial"]
    'gradient_reversal'
    """
    common = dict(
        max_epochs=max_epochs, lr=lr, batch_size=batch_size, device=device, random_state=random_state
    )
    task = TaskSpecificExtractor(task_hidden, **common)
    features = MultiTaskFeatures(
        task=ModalityRouter({m: clone(task) for m in modalities}),
        shared=SharedFeatureExtractor(
            shared_hidden, adversarial=adversarial, adversarial_weight=adversarial_weight, **common
        ),
    )
    steps = [("features", features), ("head", ClassifierHead(head_hidden, loss=head_loss, **common))]
    if embedder is not None:
        embed = make_embedder(
            embedder,
            backbone=backbone,
            weights=weights,
            image_size=image_size,
            max_epochs=embedder_max_epochs,
            device=device,
            cache=cache,
            random_state=random_state,
            **(embedder_params or {}),
        )
        steps.insert(0, ("embed", ModalityRouter({m: clone(embed) for m in modalities})))
    return Pipeline(steps)


class MultiModalMTLClassifier(ClassifierMixin, BaseEstimator):
    """The multi-modal multi-task system as one classifier over scan tables.

    A thin estimator around :func:`make_mtl_pipeline` (same parameters, flat, so that
    ``GridSearchCV(param_grid={"adversarial": [...], "head_loss": [...]})`` reads simply).
    ``fit`` builds the pipeline and fits it; the fitted pipeline is ``pipeline_``.

    Parameters
    ----------
    backbone, embedder, weights, image_size, embedder_max_epochs, embedder_params, \
adversarial, adversarial_weight, task_hidden, shared_hidden, head_hidden, head_loss, \
max_epochs, lr, batch_size, device, cache, random_state, modalities
        See :func:`make_mtl_pipeline`.

    Attributes
    ----------
    pipeline_ : Pipeline
    classes_ : ndarray

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans
    >>> from skcovid.multimodal import MultiModalMTLClassifier
    >>> data = make_synthetic_scans(24, image_size=32, random_state=0)
    >>> clf = MultiModalMTLClassifier(embedder="pretrained", image_size=32, task_hidden=(8,),
    ...                               shared_hidden=(8,), head_hidden=(4,), max_epochs=2, random_state=0)
    >>> clf.fit(data.data, data.target).predict_proba(data.data).shape
    (24, 2)
    >>> clf.predict_patients(data.data).columns[:2].tolist()
    ['proba_COVID', 'proba_Non_COVID']
    """

    def __init__(
        self,
        *,
        backbone="resnet18",
        embedder="fine_tuned",
        weights=None,
        image_size=224,
        embedder_max_epochs=10,
        embedder_params=None,
        adversarial="gradient_reversal",
        adversarial_weight=1.0,
        task_hidden=DEFAULT_HIDDEN,
        shared_hidden=DEFAULT_HIDDEN,
        head_hidden=(320, 80, 20),
        head_loss="cross_entropy",
        max_epochs=30,
        lr=1e-3,
        batch_size=64,
        device="auto",
        cache=None,
        random_state=None,
        modalities=("xray", "ct"),
    ):
        self.backbone = backbone
        self.embedder = embedder
        self.weights = weights
        self.image_size = image_size
        self.embedder_max_epochs = embedder_max_epochs
        self.embedder_params = embedder_params
        self.adversarial = adversarial
        self.adversarial_weight = adversarial_weight
        self.task_hidden = task_hidden
        self.shared_hidden = shared_hidden
        self.head_hidden = head_hidden
        self.head_loss = head_loss
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.device = device
        self.cache = cache
        self.random_state = random_state
        self.modalities = modalities

    def fit(self, X, y):
        """Build :func:`make_mtl_pipeline` with these parameters and fit it.

        Parameters
        ----------
        X : scan table (or embeddings with ``embedder=None``)
        y : array-like of shape (n_scans,)

        Returns
        -------
        self : MultiModalMTLClassifier
        """
        self.pipeline_ = make_mtl_pipeline(**self.get_params()).fit(X, y)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X):
        """Class probabilities of each scan (columns: ``classes_``)."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba(X)

    def decision_function(self, X):
        """The head's decision function for each scan."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.decision_function(X)

    def predict(self, X):
        """Predicted label of each scan."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict(X)

    def predict_patients(self, X, *, fusion="mean"):
        """One prediction per patient from all their scans; see :func:`predict_patients`."""
        check_is_fitted(self, "pipeline_")
        return predict_patients(self, X, fusion=fusion)
