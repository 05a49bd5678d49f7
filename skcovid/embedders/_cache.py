"""The embedding cache: content-addressed keys, an in-process and an on-disk store, counters."""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import struct
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

_LOCK = threading.Lock()
_FORWARDED = [0]
_MEMORY = {}  # entry key -> read-only float32 vector, shared by every estimator of the process
_MODELS = OrderedDict()  # model spec -> (model, n_features), a small LRU so that clones share a network
_MODELS_MAX = 2

_MAGIC = b"SKCE\x01"
_HEADER = struct.Struct("<5sI16s")  # magic, dimension, blake2b-128 digest of the data


def forward_pass_count():
    """Number of images forwarded through an embedding network in this process.

    Cached embeddings are not counted; use :func:`reset_forward_pass_count` before a
    measurement.

    Returns
    -------
    int

    Examples
    --------
    >>> from skcovid.embedders import forward_pass_count, reset_forward_pass_count
    >>> reset_forward_pass_count()
    >>> forward_pass_count()
    0
    """
    return _FORWARDED[0]


def reset_forward_pass_count():
    """Set the process-wide forward-pass counter back to 0."""
    with _LOCK:
        _FORWARDED[0] = 0


def _count_forward(n):
    with _LOCK:
        _FORWARDED[0] += int(n)


def clear_embedding_cache():
    """Empty the in-process embedding store (``cache=True``) and the shared-network LRU.

    On-disk caches are plain folders: delete the folder to empty one.
    """
    with _LOCK:
        _MEMORY.clear()
        _MODELS.clear()


def cached_model(spec, build):
    """Return ``build()`` for ``spec``, reusing the last few networks built in this process.

    Embedding networks are used read-only (eval mode, ``inference_mode``), so estimators with
    the same spec (clones in a grid search) share one instead of building it at every fit.
    """
    with _LOCK:
        if spec in _MODELS:
            _MODELS.move_to_end(spec)
            return _MODELS[spec]
    value = build()
    with _LOCK:
        _MODELS[spec] = value
        while len(_MODELS) > _MODELS_MAX:
            _MODELS.popitem(last=False)
    return value


def _digest(*parts):
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, (bytes, memoryview)) else str(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def module_fingerprint(module):
    """A hex digest of a module's state_dict (names, shapes, dtypes and values)."""
    import torch

    h = hashlib.blake2b(digest_size=16)
    for name, tensor in module.state_dict().items():
        array = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(array.shape)}:{array.dtype}".encode())
        h.update(array.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _file_digest(path):
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def image_key(image, *, content=False):
    """What identifies an image: a hash of an array's bytes, or of a file's path, size and mtime.

    With ``content=True`` a file is identified by a hash of its bytes instead, so that a
    copied, moved or re-touched file keeps its entries (at the cost of reading it).
    Returns None for a path that cannot be read (the row is then never cached, and
    reading it raises the usual :class:`~skcovid.preprocessing.ScanReadError`).
    """
    if isinstance(image, np.ndarray):
        array = np.ascontiguousarray(image)
        return "array:" + _digest(array.dtype.str, array.shape, memoryview(array).cast("B"))
    try:
        path = os.path.abspath(os.fspath(image))
        if content:
            return "content:" + _file_digest(path)
        stat = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None
    return f"file:{path}:{stat.st_size}:{stat.st_mtime_ns}"


def entry_keys(images, modalities, prefix, *, content=False):
    """One cache key per row: ``prefix`` (network + preprocessing + versions), image, modality."""
    keys = []
    for image, modality in zip(images, modalities):
        identity = image_key(image, content=content)
        keys.append(None if identity is None else _digest(prefix, identity, modality))
    return keys


def _valid(vector, dim):
    return (
        isinstance(vector, np.ndarray)
        and vector.dtype == np.float32
        and vector.shape == (dim,)
        and bool(np.isfinite(vector).all())
    )


class MemoryStore:
    """The in-process store of ``cache=True``: one dict shared by every estimator (and clone)."""

    def get(self, key, dim):
        vector = _MEMORY.get(key)
        if vector is None:
            return None
        if not _valid(vector, dim):
            warnings.warn("Discarded a corrupt in-memory embedding cache entry; recomputing it.",
                          stacklevel=3)
            _MEMORY.pop(key, None)
            return None
        return vector

    def put(self, key, vector):
        vector = np.array(vector, dtype=np.float32)
        vector.setflags(write=False)
        with _LOCK:
            _MEMORY[key] = vector


class DiskStore:
    """An on-disk store: one small checksummed file per entry, ``<dir>/<key[:2]>/<key>.emb``.

    Writes go to a temporary file in the same folder and are moved in place with
    :func:`os.replace`, so concurrent processes never see a partial entry. Each file holds a
    header (magic, dimension, blake2b digest of the data) and the float32 vector; a file
    whose header or digest does not match is treated as missing, deleted and recomputed.
    Entries are created with the usual permissions (``0o666`` less the umask: readable by
    the group and others under the common umask 022), so that a cache folder can be shared.
    A folder that cannot be written (read-only, full, another user's) is used read-only,
    with one warning: embeddings are then computed and returned, but not saved.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.writable = True
        self._unreadable_warned = False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except (PermissionError, OSError) as exc:
            if not isinstance(exc, PermissionError) and exc.errno != errno.EROFS:
                raise ValueError(
                    f"cache={str(directory)!r} cannot be used as a cache folder ({exc}); pass a folder path."
                ) from exc
            self._read_only(exc)
            return
        if not os.access(self.directory, os.W_OK | os.X_OK):
            self._read_only("no write permission")

    def _read_only(self, reason):
        if self.writable:
            warnings.warn(
                f"The embedding cache folder {str(self.directory)!r} cannot be written ({reason}): "
                "embeddings found there are used and the others are computed, but not saved. Give your "
                "user write access to it, or pass another folder as cache.",
                stacklevel=4,
            )
        self.writable = False

    def path(self, key):
        return self.directory / key[:2] / f"{key}.emb"

    def get(self, key, dim):
        path = self.path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            if not self._unreadable_warned:
                warnings.warn(
                    f"Cannot read embedding cache entry {str(path)!r} ({exc.strerror or exc}); recomputing "
                    "it. Entries written by other users must be readable by you: e.g. chmod -R g+rX on the "
                    "cache folder for a group-shared cache.",
                    stacklevel=3,
                )
                self._unreadable_warned = True
            return None
        if len(blob) == _HEADER.size + 4 * dim:
            magic, stored_dim, digest = _HEADER.unpack_from(blob)
            data = blob[_HEADER.size:]
            intact = hashlib.blake2b(data, digest_size=16).digest() == digest
            if magic == _MAGIC and stored_dim == dim and intact:
                vector = np.frombuffer(data, dtype="<f4").astype(np.float32)
                if _valid(vector, dim):
                    return vector
        warnings.warn(f"Discarded corrupt embedding cache entry {str(path)!r}; recomputing it.", stacklevel=3)
        try:
            path.unlink()
        except OSError:
            pass
        return None

    def put(self, key, vector):
        """Save one entry; on a write error, warn once and stop writing (nothing is raised)."""
        if not self.writable:
            return
        data = np.ascontiguousarray(vector, dtype="<f4").tobytes()
        blob = _HEADER.pack(_MAGIC, len(data) // 4, hashlib.blake2b(data, digest_size=16).digest()) + data
        path = self.path(key)
        tmp = path.parent / f".{key}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            path.parent.mkdir(exist_ok=True)
            # os.open's mode is filtered by the umask, unlike tempfile's private 0o600
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            with os.fdopen(handle, "wb") as file:
                file.write(blob)
            os.replace(tmp, path)
        except BaseException as exc:  # Ctrl-C included: never leave a temporary file behind
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if not isinstance(exc, OSError):
                raise
            self._read_only(exc)


class EmbeddingCache:
    """An embedding cache with options: pass it as an embedder's ``cache``.

    ``cache=True`` and ``cache="folder"`` identify a file by its path, size and
    modification time. ``EmbeddingCache(folder, key="content")`` identifies it by a hash of
    its bytes instead: entries survive copying or moving the data (or sharing the cache
    between machines that mount it at different places), at the cost of reading each file
    once more per ``transform``.

    Parameters
    ----------
    directory : str, path-like or None, default=None
        The cache folder; None keeps the entries in this process (as ``cache=True``).
    key : {"path", "content"}, default="path"
        How files are identified.

    Examples
    --------
    >>> from skcovid.embedders import EmbeddingCache, PretrainedEmbedder
    >>> embedder = PretrainedEmbedder(cache=EmbeddingCache(key="content"))
    >>> embedder.cache
    EmbeddingCache(directory=None, key='content')
    """

    def __init__(self, directory=None, *, key="path"):
        if key not in ("path", "content"):
            raise ValueError(f"EmbeddingCache(key={key!r}): key must be 'path' or 'content'.")
        self.directory = directory
        self.key = key

    def __repr__(self):
        folder = None if self.directory is None else str(self.directory)
        return f"EmbeddingCache(directory={folder!r}, key={self.key!r})"

    def __eq__(self, other):
        same = isinstance(other, EmbeddingCache)
        return same and (other.directory, other.key) == (self.directory, self.key)

    def __hash__(self):
        return hash((str(self.directory), self.key))


def make_store(cache):
    """The store for an estimator's ``cache`` parameter (None/False: no store)."""
    if cache is None or cache is False:
        return None
    if cache is True:
        return MemoryStore()
    if isinstance(cache, (str, os.PathLike)):
        return DiskStore(cache)
    if isinstance(cache, EmbeddingCache):
        return MemoryStore() if cache.directory is None else DiskStore(cache.directory)
    raise ValueError(f"cache must be None, True, a folder path or an EmbeddingCache; got {cache!r}.")


def content_keys(cache):
    """Whether ``cache`` identifies files by their bytes."""
    return isinstance(cache, EmbeddingCache) and cache.key == "content"
