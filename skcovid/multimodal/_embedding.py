"""MultiModalEmbedder: the embedding step of the multi-modal system (task and shared spaces)."""

from __future__ import annotations

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone, is_classifier
from sklearn.utils.validation import check_is_fitted

from ..utils import check_labels
from ..utils._param_validation import StrOptions, check_estimator_params
from ._features import SHARED_INPUT_PREFIX
from ._router import ModalityRouter
from ._tabular import PASSTHROUGH, FrameOutputMixin


def _learns_from_labels(embedder):
    """Whether the embedder is trained on the diagnosis (a classifier such as FineTunedEmbedder,
    or an EmbedderUnion with one)."""
    return is_classifier(embedder) or bool(getattr(embedder, "learns_from_labels", False))


class MultiModalEmbedder(FrameOutputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Embed scans for both branches of the multi-modal system.

    The *task-specific* branch reads one embedding space per modality, the *shared* branch
    one space for all modalities (where modality-invariant features can exist at all):

    - an embedder that learns from the diagnosis (a classifier, such as
      :class:`~skcovid.embedders.FineTunedEmbedder`) is fitted once per modality on that
      modality's rows (output columns ``emb_*``, routed as by :class:`ModalityRouter`)
      and, with ``shared="joint"``, once more on all rows (columns ``shared_emb_*``, read
      by the shared branch only: see :class:`MultiTaskFeatures`);
    - any other embedder (a fixed function of the image, such as
      :class:`~skcovid.embedders.TextureEmbedder` or a
      :class:`~skcovid.embedders.PretrainedEmbedder`) is fitted once on all rows; both
      branches read its ``emb_*`` columns, which already form one space.

    ``shared="per_modality"`` makes the shared branch read the per-modality embeddings
    (no joint embedder), for comparison. One parameter name reaches every copy of the
    embedder: ``embed__embedder__image_size`` in :func:`make_mtl_pipeline`'s pipeline.

    Parameters
    ----------
    embedder : transformer
        The image embedder (cloned for each use).
    shared : {"joint", "per_modality"}, default="joint"
    modalities : tuple of str, default=("xray", "ct")
        The modalities with their own embedder (learning embedders only).

    Attributes
    ----------
    task_ : estimator
        The fitted per-modality :class:`ModalityRouter`, or the one fitted embedder.
    shared_ : estimator or None
        The joint embedder (learning embedders with ``shared="joint"`` only).

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans
    >>> from skcovid.embedders import PretrainedEmbedder
    >>> from skcovid.multimodal import MultiModalEmbedder
    >>> data = make_synthetic_scans(8, image_size=32, random_state=0)
    >>> embed = MultiModalEmbedder(PretrainedEmbedder(image_size=32, random_state=0))
    >>> embed.fit_transform(data.data, data.target).columns[[0, -2, -1]].tolist()
    ['emb_0', 'modality', 'patient']
    """

    _parameter_constraints = {
        "embedder": "no_validation",
        "shared": [StrOptions({"joint", "per_modality"})],
        "modalities": [tuple, list],
    }

    def __init__(self, embedder, *, shared="joint", modalities=("xray", "ct")):
        self.embedder = embedder
        self.shared = shared
        self.modalities = modalities

    def fit(self, X, y=None):
        """Fit the embedder copies (see the class docstring).

        Parameters
        ----------
        X : scan table
        y : array-like of shape (n_scans,), optional
            Diagnosis labels (needed by learning embedders).

        Returns
        -------
        self : MultiModalEmbedder
        """
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        """Fit and embed the training scans.

        Parameters
        ----------
        X : scan table
        y : array-like of shape (n_scans,), optional

        Returns
        -------
        DataFrame
        """
        check_estimator_params(self)
        if y is not None:  # before any image is embedded
            y = check_labels(y)
        if not (hasattr(self.embedder, "fit") and hasattr(self.embedder, "transform")):
            raise ValueError(f"embedder must be a transformer with fit and transform; got {self.embedder!r}.")
        self.shared_ = None
        if not _learns_from_labels(self.embedder):
            self.task_ = clone(self.embedder)
            return self.task_.fit_transform(X, y)
        self.task_ = ModalityRouter({m: clone(self.embedder) for m in self.modalities})
        task = self.task_.fit_transform(X, y)
        if self.shared == "joint":
            self.shared_ = clone(self.embedder)
            return self._join(task, self.shared_.fit_transform(X, y))
        return task

    def transform(self, X):
        """Embed scans: ``emb_*`` (and ``shared_emb_*``) columns, then ``modality``/``patient``.

        Parameters
        ----------
        X : scan table

        Returns
        -------
        DataFrame
        """
        check_is_fitted(self, "task_")
        task = self.task_.transform(X)
        if self.shared_ is None:
            return task
        return self._join(task, self.shared_.transform(X))

    @staticmethod
    def _join(task, shared):
        features = shared.drop(columns=[c for c in shared.columns if c in PASSTHROUGH])
        features.columns = [f"{SHARED_INPUT_PREFIX}{i}" for i in range(features.shape[1])]
        passthrough = [c for c in task.columns if c in PASSTHROUGH]
        return pd.concat([task.drop(columns=passthrough), features, task[passthrough]], axis=1)
