"""EmbedderUnion: several image embedders of the same scans side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone, is_classifier
from sklearn.utils.validation import check_is_fitted

from ..utils import check_scan_table
from ._base import PASSTHROUGH


class EmbedderUnion(TransformerMixin, BaseEstimator):
    """Concatenate the embeddings of several embedders (e.g. texture features and a CNN).

    Like scikit-learn's :class:`~sklearn.pipeline.FeatureUnion`, but for scan tables: each
    embedder is fitted on the same scans (and labels, for embedders that learn from the
    diagnosis) and their ``emb_*`` columns are put side by side and renumbered
    ``emb_0 ... emb_{d-1}``, so the union is a drop-in embedder for the multi-modal
    system; ``modality``/``patient`` are passed through once. Each member keeps its own
    cache, so a texture-plus-CNN union reads cached texture features while the CNN
    trains. ``blocks_`` says which columns came from which embedder.

    Parameters
    ----------
    embedders : list of (str, transformer)
        Named embedders, as in ``FeatureUnion``; nested parameters are reachable as
        ``<name>__<param>``.

    Attributes
    ----------
    embedders_ : list of (str, transformer)
        The fitted clones.
    blocks_ : dict of {str: slice}
        Columns of each embedder in the output.
    n_features_out_ : int

    Examples
    --------
    >>> from skcovid.datasets import make_synthetic_scans
    >>> from skcovid.embedders import EmbedderUnion, PretrainedEmbedder, TextureEmbedder
    >>> data = make_synthetic_scans(6, image_size=32, random_state=0)
    >>> union = EmbedderUnion([("texture", TextureEmbedder(image_size=32, hog=False)),
    ...                        ("cnn", PretrainedEmbedder(image_size=32, random_state=0))])
    >>> Z = union.fit_transform(data.data, data.target)
    >>> union.blocks_
    {'texture': slice(0, 169, None), 'cnn': slice(169, 681, None)}
    >>> Z.columns[[0, -3, -2, -1]].tolist()
    ['emb_0', 'emb_680', 'modality', 'patient']
    """

    def __init__(self, embedders):
        self.embedders = embedders

    @property
    def learns_from_labels(self):
        """Whether a member learns from the diagnosis (then ``fit`` needs ``y``)."""
        return any(is_classifier(e) or getattr(e, "learns_from_labels", False) for _, e in self.embedders)

    def get_params(self, deep=True):
        """Parameters, with ``<name>__<param>`` for each embedder when ``deep``."""
        params = {"embedders": self.embedders}
        if deep:
            for name, embedder in self.embedders:
                params[name] = embedder
                nested = embedder.get_params(deep=True)
                params.update({f"{name}__{key}": value for key, value in nested.items()})
        return params

    def set_params(self, **params):
        """Set ``embedders`` or ``<name>__<param>`` / ``<name>`` (replace an embedder)."""
        if "embedders" in params:
            self.embedders = params.pop("embedders")
        members = dict(self.embedders)
        nested = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in members:
                raise ValueError(
                    f"Invalid parameter {key!r} for EmbedderUnion: the embedders are named "
                    f"{list(members)}."
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                members[name] = value
        for name, sub in nested.items():
            members[name].set_params(**sub)
        self.embedders = [(name, members[name]) for name, _ in self.embedders]
        return self

    def _check(self):
        embedders = list(self.embedders) if isinstance(self.embedders, (list, tuple)) else None
        ok = embedders and all(
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            and hasattr(item[1], "fit") and hasattr(item[1], "transform")
            for item in embedders
        )
        if not ok:
            raise ValueError(
                "embedders must be a non-empty list of (name, transformer) pairs, e.g. "
                f"[('texture', TextureEmbedder()), ('cnn', FineTunedEmbedder())]; got {self.embedders!r}."
            )
        names = [name for name, _ in embedders]
        if len(set(names)) < len(names) or any("__" in name for name in names):
            raise ValueError(f"Embedder names must be unique and contain no '__'; got {names}.")
        return embedders

    def fit(self, X, y=None):
        """Fit every embedder on ``(X, y)``.

        Parameters
        ----------
        X : scan table
        y : array-like of shape (n_scans,), optional
            Diagnosis labels (needed when a member learns from them).

        Returns
        -------
        self : EmbedderUnion
        """
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        """Fit every embedder and return the concatenated training embeddings.

        Parameters
        ----------
        X : scan table
        y : array-like of shape (n_scans,), optional

        Returns
        -------
        DataFrame
        """
        embedders = self._check()
        table = check_scan_table(X)
        self.embedders_ = [(name, clone(embedder)) for name, embedder in embedders]
        outputs = [(name, embedder.fit_transform(table, y)) for name, embedder in self.embedders_]
        start, self.blocks_ = 0, {}
        for name, output in outputs:
            width = _features(output).shape[1]
            self.blocks_[name] = slice(start, start + width)
            start += width
        self.n_features_out_ = start
        self.passthrough_columns_ = [c for c in PASSTHROUGH if c in table.columns]
        return self._join(table, outputs)

    def transform(self, X):
        """Concatenated embeddings of ``X``.

        Parameters
        ----------
        X : scan table

        Returns
        -------
        DataFrame
            ``emb_0 ... emb_{d-1}`` (float32), then ``modality`` and ``patient`` when present;
            after ``set_output(transform="default")`` a float32 array of the embeddings.
        """
        check_is_fitted(self, "embedders_")
        table = check_scan_table(X)
        return self._join(table, [(name, embedder.transform(table)) for name, embedder in self.embedders_])

    def _join(self, table, outputs):
        values = np.hstack([_features(output) for _, output in outputs]).astype(np.float32, copy=False)
        if getattr(self, "_sklearn_output_config", {}).get("transform") == "default":
            return values  # as the embedders do after set_output(transform="default")
        frame = pd.DataFrame(values, index=table.index, columns=self._names())
        passthrough = [c for c in self.passthrough_columns_ if c in table.columns]
        return pd.concat([frame, table[passthrough]], axis=1) if passthrough else frame

    def _names(self):
        return [f"emb_{i}" for i in range(self.n_features_out_)]

    def get_feature_names_out(self, input_features=None):
        """``emb_0 ... emb_{d-1}`` and the passed-through columns."""
        check_is_fitted(self, "embedders_")
        return np.asarray(self._names() + list(self.passthrough_columns_), dtype=object)


def _features(output):
    """An embedder's output without its passthrough columns, as an array."""
    if isinstance(output, pd.DataFrame):
        output = output.drop(columns=[c for c in output.columns if c in PASSTHROUGH])
    return np.asarray(output)
