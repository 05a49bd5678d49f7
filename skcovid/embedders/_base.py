"""Shared machinery of the embedders: preprocessing parameters, cached batched inference, output frames."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .. import __version__
from ..preprocessing import ScanDataset, ScanPreprocessor
from ..utils import check_labels, check_scan_table, resolve_device
from ..utils._param_validation import Interval, StrOptions
from ._cache import EmbeddingCache, _count_forward, content_keys, entry_keys, make_store

PASSTHROUGH = ("modality", "patient")
_CACHE_CHUNK = 256  # rows per cache write for embedders that compute all rows at once

COMMON_CONSTRAINTS = {
    "backbone": [str],
    "weights": [None, str, os.PathLike],
    "image_size": [Interval(Integral, 8, None, closed="left"), tuple],
    "clahe": ["boolean"],
    "clahe_clip_limit": [Interval(Real, 0, 1, closed="neither")],
    "ct_opening": [Interval(Integral, 0, None, closed="left")],
    "ct_window": [None, tuple],
    "normalize": [StrOptions({"imagenet", "none", "per_image"}), tuple],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "num_workers": [Interval(Integral, 0, None, closed="left")],
    "device": "no_validation",
    "cache": [None, "boolean", str, os.PathLike, EmbeddingCache],
    "random_state": ["random_state"],
}


def _weights_identity(weights):
    from ..modules import weights_identity

    try:
        return weights_identity(weights)
    except OSError as exc:
        raise FileNotFoundError(
            f"weights={str(weights)!r} looks like a checkpoint path but cannot be read ({exc}); pass an "
            "existing state_dict file, a torchvision weight name such as 'DEFAULT', or None."
        ) from exc


class _BaseEmbedder(TransformerMixin, BaseEstimator):
    """Base class: subclasses set ``model_`` (images -> embeddings), ``n_features_out_`` and
    ``network_key_`` (what identifies the network in cache keys) in ``fit``."""

    def _fit_preprocessing(self, X, y=None):
        """Validate X (and ``y`` when given), build ``preprocessor_``, resolve ``device_``; return the table.

        ``y`` is checked with :func:`~skcovid.utils.check_labels` (no missing labels, one type,
        two classes) and against the number of scans.
        """
        table = check_scan_table(X)
        if y is not None:
            labels = check_labels(y)
            if len(labels) != len(table):
                raise ValueError(f"X has {len(table)} scans but y has {len(labels)} labels; pass one label "
                                 "per scan.")
        self.preprocessor_ = ScanPreprocessor(
            self.image_size,
            clahe=self.clahe,
            clahe_clip_limit=self.clahe_clip_limit,
            ct_opening=self.ct_opening,
            ct_window=self.ct_window,
            channels=3,
            normalize=self.normalize,
        ).fit()
        self.device_ = resolve_device(self.device)
        self.passthrough_columns_ = [c for c in PASSTHROUGH if c in table.columns]
        self.n_images_forwarded_ = 0
        return table

    def _cache_prefix(self):
        import torch
        import torchvision

        params = sorted(self.preprocessor_.get_params().items())
        return (
            f"{self.network_key_}|pre={params}|skcovid={__version__}|torch={torch.__version__}"
            f"|torchvision={torchvision.__version__}"
        )

    def _forward(self, table):
        """Decode, preprocess and embed the rows of ``table``; (n, d) float32."""
        return np.concatenate(list(self._forward_batches(table))).astype(np.float32, copy=False)

    def _forward_batches(self, table):
        """Yield the embeddings of ``table``'s rows batch by batch, in order (decoded by the DataLoader)."""
        import torch
        from torch.utils.data import DataLoader

        network = self.model_
        cpu = self.device_ == "cpu"
        loader = DataLoader(
            ScanDataset(table, self.preprocessor_),
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            pin_memory=not cpu,
        )
        memory_format = torch.channels_last if cpu else torch.preserve_format
        network.eval()
        if cpu:
            network.to(memory_format=torch.channels_last)
        with torch.inference_mode():
            for images, _ in loader:
                images = images.to(self.device_, non_blocking=True, memory_format=memory_format)
                chunk = network(images).reshape(len(images), -1).float().cpu().numpy()
                _count_forward(len(chunk))
                self.n_images_forwarded_ = getattr(self, "n_images_forwarded_", 0) + len(chunk)
                yield chunk.astype(np.float32, copy=False)

    def _cache_batches(self, table):
        """``_forward_batches``, or ``_forward`` on slices for a subclass that only overrides ``_forward``."""
        if type(self)._forward is _BaseEmbedder._forward:
            yield from self._forward_batches(table)
            return
        step = max(getattr(self, "batch_size", 0) or 0, _CACHE_CHUNK)
        for start in range(0, len(table), step):
            yield self._forward(table.iloc[start:start + step])

    def _embed(self, table):
        """Embeddings of every row, read from the cache where possible; (n, d) float32.

        New entries are saved batch by batch, so an interrupted or failing run keeps the
        embeddings of the batches it finished.
        """
        n, dim = len(table), self.n_features_out_
        store = make_store(self.cache)
        if store is None:
            return self._forward(table)
        out = np.empty((n, dim), dtype=np.float32)
        modalities = table["modality"].to_numpy() if "modality" in table.columns else [None] * n
        keys = entry_keys(table["image"].to_numpy(), modalities, self._cache_prefix(),
                          content=content_keys(self.cache))
        pending = {}  # key -> rows needing it (a repeated image is forwarded once)
        uncacheable = []
        for row, key in enumerate(keys):
            vector = None if key is None else store.get(key, dim)
            if vector is not None:
                out[row] = vector
            elif key is None:
                uncacheable.append(row)
            else:
                pending.setdefault(key, []).append(row)
        targets = list(pending.items()) + [(None, [row]) for row in uncacheable]
        if targets:
            done = 0
            for vectors in self._cache_batches(table.iloc[[rows[0] for _, rows in targets]]):
                for vector, (key, rows) in zip(vectors, targets[done:done + len(vectors)]):
                    out[rows] = vector
                    if key is not None:
                        store.put(key, vector)
                done += len(vectors)
        return out

    def _embedding_names(self):
        return [f"emb_{i}" for i in range(self.n_features_out_)]

    def transform(self, X):
        """Embed the scans of ``X``.

        Parameters
        ----------
        X : scan table, array of images, or list of paths/arrays
            The same kind of input as in ``fit``. A ``modality`` column present at fit
            time must be present; ``patient`` is optional (it only groups rows in fit).

        Returns
        -------
        DataFrame of shape (n_scans, ``n_features_out_`` + n_passthrough)
            Columns ``emb_0`` ... ``emb_{d-1}`` (float32), then ``modality`` and ``patient``
            when ``X`` had them at fit time; the index is ``X``'s index. After
            ``set_output(transform="default")`` a float32 ndarray of the embeddings alone is
            returned instead.
        """
        check_is_fitted(self, "model_")
        table = check_scan_table(X)
        # ``patient`` only groups rows while fitting: new scans need not have one
        missing = [c for c in self.passthrough_columns_ if c not in table.columns and c != "patient"]
        if missing:
            raise ValueError(
                f"X has no {missing} column(s), which were present at fit time and are passed through; "
                "pass a scan table with the same columns as in fit."
            )
        passthrough = [c for c in self.passthrough_columns_ if c in table.columns]
        embeddings = self._embed(table)
        if getattr(self, "_sklearn_output_config", {}).get("transform") == "default":
            return embeddings
        frame = pd.DataFrame(embeddings, index=table.index, columns=self._embedding_names())
        if passthrough:
            frame = pd.concat([frame, table[passthrough]], axis=1)
        return frame

    def get_feature_names_out(self, input_features=None):
        """Output column names: ``emb_0`` ... ``emb_{d-1}`` and the passed-through columns.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "model_")
        return np.asarray(self._embedding_names() + list(self.passthrough_columns_), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.non_deterministic = self.random_state is None and self.weights is None
        return tags
