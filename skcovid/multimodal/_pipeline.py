"""The standard multi-modal multi-task system, as a Pipeline or as one classifier."""

from __future__ import annotations

from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._embedding import MultiModalEmbedder
from ._features import MultiTaskFeatures
from ._fusion import predict_patients
from ._head import ClassifierHead
from ._router import ModalityRouter
from ._shared import SharedFeatureExtractor
from ._task_specific import TaskSpecificExtractor

EMBEDDERS = ("texture", "fine_tuned", "pretrained")


def make_embedder(
    embedder="texture",
    *,
    backbone="resnet18",
    weights=None,
    image_size=None,
    max_epochs=10,
    device="auto",
    cache=None,
    random_state=None,
    **params,
):
    """An image embedder by name.

    Parameters
    ----------
    embedder : {"texture", "fine_tuned", "pretrained"}, transformer, list or None, \
default="texture"
        ``"texture"``: :class:`~skcovid.embedders.TextureEmbedder` (first-order, GLCM, LBP and
        HOG features; no network); ``"fine_tuned"``:
        :class:`~skcovid.embedders.FineTunedEmbedder` (a CNN trained on the diagnosis);
        ``"pretrained"``: :class:`~skcovid.embedders.PretrainedEmbedder` (a CNN's pooled
        features). A transformer is returned as is; None returns None (no embedder: the
        input already holds embeddings). A list of these, such as ``["texture",
        "fine_tuned"]``, gives an :class:`~skcovid.embedders.EmbedderUnion` of them (their
        embeddings side by side; ``image_size``, ``cache`` and ``**params`` go to every
        member, the CNN arguments to the CNN members; tune one member through
        ``<name>__<param>``, e.g. ``fine_tuned__lr``).
    backbone, weights : str
        torchvision backbone and its weights (CNN embedders only).
    image_size : int or None, default=None
        Side of the images the embedder reads; None keeps the embedder's own default.
    max_epochs : int, default=10
        Fine-tuning epochs (``"fine_tuned"`` only).
    device : str, default="auto"
        CNN embedders only.
    cache : None, True or path-like, default=None
        Embedding cache (see :class:`~skcovid.embedders.PretrainedEmbedder`).
    random_state : int or None, default=None
        CNN embedders only (the texture features are deterministic).
    **params
        More parameters of the embedder (e.g. ``hidden=256``, ``n_jobs=2``).

    Returns
    -------
    transformer or None

    Examples
    --------
    >>> from skcovid.multimodal import make_embedder
    >>> type(make_embedder()).__name__, type(make_embedder("pretrained", image_size=64)).__name__
    ('TextureEmbedder', 'PretrainedEmbedder')
    >>> make_embedder(None) is None
    True
    >>> make_embedder(["texture", "fine_tuned"], max_epochs=5).get_params()["fine_tuned__max_epochs"]
    5
    """
    from ..embedders import EmbedderUnion, FineTunedEmbedder, PretrainedEmbedder, TextureEmbedder

    if embedder is None:
        return None
    if isinstance(embedder, (list, tuple)):
        kwargs = dict(backbone=backbone, weights=weights, image_size=image_size, max_epochs=max_epochs,
                      device=device, cache=cache, random_state=random_state, **params)
        members = [make_embedder(e, **kwargs) for e in embedder]
        names = [e if isinstance(e, str) else type(e).__name__.lower() for e in embedder]
        names = [n if names.count(n) == 1 else f"{n}{i}" for i, n in enumerate(names)]
        return EmbedderUnion(list(zip(names, members)))
    size = {} if image_size is None else {"image_size": image_size}
    if isinstance(embedder, str) and embedder == "texture":
        return TextureEmbedder(cache=cache, **size, **params)
    cnn = dict(weights=weights, device=device, cache=cache, random_state=random_state, **size, **params)
    if isinstance(embedder, str) and embedder == "fine_tuned":
        return FineTunedEmbedder(backbone, max_epochs=max_epochs, **cnn)
    if isinstance(embedder, str) and embedder == "pretrained":
        return PretrainedEmbedder(backbone, **cnn)
    if hasattr(embedder, "fit") and hasattr(embedder, "transform"):
        return embedder
    raise ValueError(
        f"embedder must be one of {list(EMBEDDERS)}, a transformer, a list of these or None; "
        f"got {embedder!r}."
    )


def make_mtl_pipeline(
    *,
    embedder="texture",
    backbone="resnet18",
    weights=None,
    image_size=None,
    embedder_max_epochs=10,
    embedder_params=None,
    shared_embedding="joint",
    adversarial="gradient_reversal",
    adversarial_weight=1.0,
    task_hidden=(256, 64),
    shared_hidden=(256, 8),
    head_hidden=(64,),
    head_loss="cross_entropy",
    max_epochs=30,
    lr=1e-3,
    batch_size=64,
    cv=5,
    device="auto",
    cache=None,
    random_state=None,
    modalities=("xray", "ct"),
    verbose=False,
):
    """The multi-modal multi-task system as a plain scikit-learn ``Pipeline``.

    Steps:

    1. ``"embed"``: :class:`MultiModalEmbedder` -- the image embedder, per modality for
       the task branch and on all rows for the shared branch (left out when
       ``embedder=None``: the input is then a DataFrame of embeddings with ``modality``
       and ``patient`` columns);
    2. ``"features"``: :class:`MultiTaskFeatures` of one :class:`TaskSpecificExtractor`
       per modality (routed, each modality in its own block of columns,
       ``task_xray_*`` / ``task_ct_*``) and the :class:`SharedFeatureExtractor` over all
       rows (standardised per modality, adversarial against a modality discriminator);
       out-of-fold during ``fit`` so that the head learns from honest features;
    3. ``"head"``: :class:`ClassifierHead`.

    Every part is reachable for ``GridSearchCV``: ``embed__embedder__image_size``,
    ``features__task__ct__hidden``, ``features__shared__adversarial``, ``head__loss``.

    The defaults were chosen by measurement on real X-ray and CT scans (texture features
    over a randomly initialised CNN, input standardisation, the adversarial weight); on
    the 2,022 training scans a fit takes a few minutes on two CPU cores. See
    ``benchmarks/bench_mtl.py`` for the comparison with simpler models.

    Parameters
    ----------
    embedder : {"texture", "fine_tuned", "pretrained"}, transformer, list or None, \
default="texture"
        The image embedder (see :func:`make_embedder`), or None for embeddings as input.
    backbone : str, default="resnet18"
        torchvision backbone of the CNN embedders.
    weights : None, str or path-like, default=None
        Backbone weights (None: random initialisation; a torchvision name; a local file).
    image_size : int or None, default=None
        Side of the images the embedder reads (None: the embedder's default).
    embedder_max_epochs : int, default=10
        Fine-tuning epochs of the fine-tuned embedder.
    embedder_params : dict, optional
        More embedder parameters (e.g. ``{"hidden": 256, "num_workers": 2}``).
    shared_embedding : {"joint", "per_modality"}, default="joint"
        What the shared branch reads (see :class:`MultiModalEmbedder`).
    adversarial : {"gradient_reversal", "minimax", None}, default="gradient_reversal"
        Adversarial training of the shared features against a modality discriminator.
    adversarial_weight : float, default=1.0
    task_hidden : tuple of int, default=(256, 64)
        Hidden layers of the task-specific extractors (the last is the number of features
        each emits).
    shared_hidden : tuple of int, default=(256, 8)
        Hidden layers of the shared extractor (the last is the number of shared features:
        few, so that the adversary can hide the modality in them).
    head_hidden : tuple of int, default=(64,)
    head_loss : {"cross_entropy", "focal"}, default="cross_entropy"
    max_epochs : int, default=30
        Epochs of the extractors and the head (with early stopping).
    lr : float, default=1e-3
        Adam learning rate of the extractors and the head.
    batch_size : int, default=64
        Batch size of the extractors and the head.
    cv : int, splitter or None, default=5
        Folds of the out-of-fold features the head is trained on (see
        :class:`MultiTaskFeatures`); None trains it on in-sample features.
    device : str, default="auto"
    cache : None, True or path-like, default=None
        Embedding cache of the embedder.
    random_state : int or None, default=None
    modalities : tuple of str, default=("xray", "ct")
        The modalities routed (each needs training rows).
    verbose : bool, default=False
        Progress: a bar while the texture embedder works, and the time of each step as
        it ends (``Pipeline(verbose=True)``).

    Returns
    -------
    Pipeline

    Examples
    --------
    >>> from skcovid.multimodal import make_mtl_pipeline
    >>> pipe = make_mtl_pipeline(random_state=0)
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
        task=ModalityRouter({m: clone(task) for m in modalities}, layout="block"),
        shared=SharedFeatureExtractor(
            shared_hidden, adversarial=adversarial, adversarial_weight=adversarial_weight, **common
        ),
        cv=cv,
        random_state=random_state,
    )
    steps = [("features", features), ("head", ClassifierHead(head_hidden, loss=head_loss, **common))]
    embed = make_embedder(
        embedder,
        backbone=backbone,
        weights=weights,
        image_size=image_size,
        max_epochs=embedder_max_epochs,
        device=device,
        cache=cache,
        random_state=random_state,
        **{**({"verbose": int(verbose)} if embedder == "texture" else {}), **(embedder_params or {})},
    )
    if embed is not None:
        steps.insert(
            0, ("embed", MultiModalEmbedder(embed, shared=shared_embedding, modalities=tuple(modalities)))
        )
    return Pipeline(steps, verbose=verbose)


class MultiModalMTLClassifier(ClassifierMixin, BaseEstimator):
    """The multi-modal multi-task system as one classifier over scan tables.

    A thin estimator around :func:`make_mtl_pipeline` (same parameters, flat, so that
    ``GridSearchCV(param_grid={"adversarial": [...], "head_loss": [...]})`` reads simply).
    ``fit`` builds the pipeline and fits it; the fitted pipeline is ``pipeline_``.

    Parameters
    ----------
    embedder, backbone, weights, image_size, embedder_max_epochs, embedder_params, \
shared_embedding, adversarial, adversarial_weight, task_hidden, shared_hidden, head_hidden, \
head_loss, max_epochs, lr, batch_size, cv, device, cache, random_state, modalities, verbose
        See :func:`make_mtl_pipeline` (same defaults).

    Attributes
    ----------
    pipeline_ : Pipeline
    classes_ : ndarray

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans
    >>> from skcovid.multimodal import MultiModalMTLClassifier
    >>> data = make_synthetic_scans(24, image_size=32, random_state=0)
    >>> clf = MultiModalMTLClassifier(image_size=32, task_hidden=(8,), shared_hidden=(8,),
    ...                               head_hidden=(4,), max_epochs=2, cv=2, random_state=0)
    >>> clf.fit(data.data, data.target).predict_proba(data.data).shape
    (24, 2)
    >>> clf.predict_patients(data.data).columns[:2].tolist()
    ['proba_COVID', 'proba_Non_COVID']
    """

    def __init__(
        self,
        *,
        embedder="texture",
        backbone="resnet18",
        weights=None,
        image_size=None,
        embedder_max_epochs=10,
        embedder_params=None,
        shared_embedding="joint",
        adversarial="gradient_reversal",
        adversarial_weight=1.0,
        task_hidden=(256, 64),
        shared_hidden=(256, 8),
        head_hidden=(64,),
        head_loss="cross_entropy",
        max_epochs=30,
        lr=1e-3,
        batch_size=64,
        cv=5,
        device="auto",
        cache=None,
        random_state=None,
        modalities=("xray", "ct"),
        verbose=False,
    ):
        self.embedder = embedder
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.embedder_max_epochs = embedder_max_epochs
        self.embedder_params = embedder_params
        self.shared_embedding = shared_embedding
        self.adversarial = adversarial
        self.adversarial_weight = adversarial_weight
        self.task_hidden = task_hidden
        self.shared_hidden = shared_hidden
        self.head_hidden = head_hidden
        self.head_loss = head_loss
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.cv = cv
        self.device = device
        self.cache = cache
        self.random_state = random_state
        self.modalities = modalities
        self.verbose = verbose

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
