"""PretrainedEmbedder: a frozen torchvision backbone as a scikit-learn transformer."""

from __future__ import annotations

from numbers import Integral

from sklearn.utils import check_random_state

from ..utils._param_validation import StrOptions, check_estimator_params
from ._base import COMMON_CONSTRAINTS, _BaseEmbedder, _weights_identity
from ._cache import cached_model, module_fingerprint


def _build_network(backbone, weights, seed, pooling, device):
    from ..modules._embedding_heads import prepare_backbone, set_global_pooling

    model, n_features = prepare_backbone(backbone, weights=weights, random_state=seed)
    model = set_global_pooling(model, pooling)
    return model.eval().to(device), n_features


class PretrainedEmbedder(_BaseEmbedder):
    """Pooled penultimate features of a (pretrained) torchvision backbone, as a transformer.

    Any torchvision classification model works: its classifier head is removed and the
    pooled features before it are returned (512 for resnet18, 2048 for resnet50, 1024 for
    densenet121, 4096 for vgg16, 1280 for efficientnet_b0, 768 for convnext_tiny and
    vit_b_16). Scans are decoded and preprocessed in a torch ``DataLoader`` over a
    :class:`~skcovid.preprocessing.ScanDataset` (in parallel with ``num_workers``), then
    forwarded in eval mode under ``torch.inference_mode()``, in ``channels_last`` memory
    format on the CPU.

    The estimator learns nothing from data: ``fit`` builds the network (networks with the
    same specification are shared between clones in a process, read-only) and records
    which columns to pass through.

    Parameters
    ----------
    backbone : str, default="resnet18"
        A :func:`torchvision.models.get_model` name ("resnet18", "resnet50", "densenet121",
        "vgg16", "efficientnet_b0", "convnext_tiny", "vit_b_16", ...).
    weights : None, str or path-like, default=None
        None: random initialisation seeded by ``random_state``; a torchvision weight name
        ("DEFAULT", "IMAGENET1K_V1", ...), loaded from torch's cache or downloaded; or a local
        state_dict file (``torch.save(model.state_dict(), path)``). Without network access a
        download fails with a message explaining how to pass a local file.
    image_size : int or tuple of (int, int), default=224
        Input height and width.
    pooling : {"avg", "max", "avgmax"}, default="avg"
        "avg" is the network's own pooling (all backbones). "max" and "avgmax"
        (``0.5 * (avg + max)``) replace the global average pooling of CNNs that have one
        (ResNet, DenseNet, EfficientNet, ConvNeXt, MobileNet, RegNet, Swin); VGG and ViT raise.
    clahe, clahe_clip_limit, ct_opening, ct_window, normalize
        Preprocessing, see :class:`~skcovid.preprocessing.ScanPreprocessor`.
    batch_size : int, default=32
        Images per forward pass.
    num_workers : int, default=0
        DataLoader worker processes decoding and preprocessing scans.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        "auto" uses CUDA when available.
    cache : None, True or path-like, default=None
        Embedding cache. ``True``: an in-process store shared by every estimator and clone
        (a grid search over downstream parameters forwards each image once); a folder: an
        on-disk store shared by processes. Keys combine the image (hash of an array's bytes,
        or a file's path, size and mtime), the network (backbone, weights identity, seed,
        pooling), the preprocessing parameters and the library versions. The device is not
        part of the key. See :func:`clear_embedding_cache`.
    random_state : int, RandomState instance or None, default=None
        Seeds the random initialisation when ``weights`` is None.

    Attributes
    ----------
    model_ : torch.nn.Module
        The network mapping ``(N, 3, H, W)`` images to embeddings (treat it as read-only:
        it may be shared with clones).
    preprocessor_ : ScanPreprocessor
    n_features_out_ : int
        Embedding dimension.
    device_ : str
    passthrough_columns_ : list of str
        Columns of ``X`` copied to the output (``modality``, ``patient`` when present at fit).
    network_key_ : str
        What identifies the network in cache keys.
    n_images_forwarded_ : int
        Images this estimator forwarded through ``model_`` (cache hits excluded).

    See Also
    --------
    FineTunedEmbedder : trains the backbone and a dense head first.

    Notes
    -----
    ``transform`` returns a DataFrame with ``X``'s index: ``emb_0`` ... ``emb_{d-1}``
    (float32), then ``modality`` and ``patient`` when ``X`` had them at fit time, so that the
    estimator works inside a modality router and before patient-grouped splits. After
    ``set_output(transform="default")`` it returns the float32 embedding array alone (what a
    plain scikit-learn classifier downstream wants); ``set_output(transform="pandas")`` keeps
    the DataFrame.

    On the CPU, :func:`tune_malloc` (opt-in) removes glibc's per-batch page-fault overhead.

    Examples
    --------
    >>> import numpy as np
    >>> from skcovid.embedders import PretrainedEmbedder
    >>> images = np.random.default_rng(0).integers(0, 255, (3, 40, 40), dtype=np.uint8)
    >>> emb = PretrainedEmbedder("resnet18", image_size=32, random_state=0).fit(images)
    >>> emb.transform(images).shape
    (3, 512)
    >>> emb.get_feature_names_out()[:2]
    array(['emb_0', 'emb_1'], dtype=object)
    """

    _parameter_constraints = {**COMMON_CONSTRAINTS, "pooling": [StrOptions({"avg", "max", "avgmax"})]}

    def __init__(
        self,
        backbone="resnet18",
        *,
        weights=None,
        image_size=224,
        pooling="avg",
        clahe=False,
        clahe_clip_limit=0.01,
        ct_opening=0,
        ct_window=None,
        normalize="imagenet",
        batch_size=32,
        num_workers=0,
        device="auto",
        cache=None,
        random_state=None,
    ):
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.pooling = pooling
        self.clahe = clahe
        self.clahe_clip_limit = clahe_clip_limit
        self.ct_opening = ct_opening
        self.ct_window = ct_window
        self.normalize = normalize
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.device = device
        self.cache = cache
        self.random_state = random_state

    def fit(self, X=None, y=None):
        """Build the network and the preprocessor; nothing is learned from data.

        Parameters
        ----------
        X : scan table, array of images, or list of paths/arrays
            Only its columns are looked at (which ones to pass through).
        y : None
            Ignored.

        Returns
        -------
        self : PretrainedEmbedder
        """
        check_estimator_params(self)
        self._fit_preprocessing(X)
        seeded = isinstance(self.random_state, Integral)
        seed = int(self.random_state) if seeded else None
        if seed is None and self.random_state is not None:
            seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        if self.weights is not None or seeded:
            identity = _weights_identity(self.weights)
            seed_part = seed if self.weights is None else "-"
            self.network_key_ = f"{self.backbone}|{identity}|seed={seed_part}|pool={self.pooling}"
            self.model_, self.n_features_out_ = cached_model(
                (self.network_key_, self.device_),
                lambda: _build_network(self.backbone, self.weights, seed, self.pooling, self.device_),
            )
        else:  # a fresh random network: identify it by its values
            self.model_, self.n_features_out_ = _build_network(
                self.backbone, None, seed, self.pooling, self.device_
            )
            self.network_key_ = f"{self.backbone}|pool={self.pooling}|sha={module_fingerprint(self.model_)}"
        return self
