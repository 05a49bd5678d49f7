"""``dump`` and ``load``: one zip file with a manifest, a skops skeleton and safetensors weights."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
import zlib
from pathlib import Path

from ._graph import Decoder, Encoder, ObjectRef, TensorRef, TorchValueRef, class_name
from ._interrupt import is_fit_interrupted
from ._trust import check_names, resolver

FORMAT = "skcovid-model"
FORMAT_VERSION = 2  # 2: the manifest records content_sha256
MANIFEST, SKELETON, WEIGHTS = "manifest.json", "skeleton.skops", "weights.safetensors"
#: The packages whose versions a saved model records and ``load`` compares.
VERSIONED = ("skcovid", "torch", "torchvision", "skorch", "scikit-learn", "skops", "safetensors", "numpy")
_NODE_TYPES = [class_name(c).replace(":", ".") for c in (ObjectRef, TensorRef, TorchValueRef)]
#: The manifest field holding the SHA-256 of the rest of the manifest (see :func:`dump`).
CONTENT_HASH = "content_sha256"
#: What reading a damaged zip member raises (bad CRC, a cut deflate stream, a missing member).
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, KeyError)


class ModelVersionWarning(UserWarning):
    """A model is loaded with other versions of skcovid or its libraries than it was saved with."""


def _versions():
    """The installed versions, from the package metadata (nothing is imported for it)."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    found = {}
    for name in VERSIONED:
        try:
            found[name] = __version__ if name == "skcovid" else version(name)  # skcovid: the source's
        except PackageNotFoundError:  # pragma: no cover - every one is a dependency
            found[name] = None
    return found


def _jsonable(value):
    """A JSON value for the manifest (a readable repr where JSON has no form)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        if isinstance(value, (list, tuple)):
            return [_jsonable(v) for v in value]
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        return repr(value)


def _describe(estimator):
    params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
    classes = getattr(estimator, "classes_", None)
    return {
        "estimator": class_name(type(estimator)),
        "parameters": {key: _jsonable(value) for key, value in params.items()},
        "classes": None if classes is None else _jsonable(list(classes.tolist())),
    }


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _content_digest(manifest):
    """SHA-256 of the manifest as JSON with sorted keys and no spaces, without ``content_sha256``."""
    content = {key: value for key, value in manifest.items() if key != CONTENT_HASH}
    return _digest(json.dumps(content, sort_keys=True, separators=(",", ":")).encode())


def _starts_like_model(path):
    """Whether the file begins as :func:`dump` writes it: a zip whose first member is the manifest.

    A truncated or damaged model keeps its first bytes, so this tells it from other files.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(30 + len(MANIFEST))  # a zip local header is 30 bytes, then the name
    except OSError:
        return False
    return head[:4] == b"PK\x03\x04" and head[30:] == MANIFEST.encode()


def _damaged(path, what):
    return ValueError(
        f"{str(path)!r} is a skcovid model file, but {what}: it was truncated or damaged after it was saved "
        "(an interrupted copy or download, a full disk?). Copy it again from its source, or save the model "
        "again with skcovid.persistence.dump."
    )


def dump(estimator, path, *, include_optimizer=False, include_training_data=False):
    """Save a fitted skcovid estimator or pipeline in one file, without pickle.

    The file is a zip archive of three members:

    - ``manifest.json``: the format, the versions of skcovid, torch, torchvision, skorch,
      scikit-learn, skops, safetensors and numpy, the estimator's class, parameters and
      classes, whether its fit was interrupted, the SHA-256 of the two other members
      (``sha256``), and the content hash ``content_sha256``: the SHA-256 of the manifest
      itself, as JSON with sorted keys and no spaces, without that field. Through the
      members' hashes it covers the weights and the rest of the estimator too, so
      :func:`load` refuses a file whose weights, parameters, classes or versions were
      changed, or that was cut short, after it was saved;
    - ``weights.safetensors``: every tensor (network weights and buffers), as safetensors;
    - ``skeleton.skops``: everything else, persisted with skops, with each tensor replaced
      by a reference into the weights.

    Nothing in the file is executable: :func:`load` rebuilds only classes from the
    packages skcovid models are made of. It is still wise to load only files you trust.

    Parameters
    ----------
    estimator : object
        A fitted estimator: any skcovid estimator (``ImageClassifier``, ``MultiTaskUNet``,
        ``DRENetClassifier``, the embedders, ``MultiModalMTLClassifier``...), a
        scikit-learn estimator, or a ``Pipeline`` of them.
    path : str or path-like
        The file to write (parent folders are created). By convention ``*.skcovid``.
    include_optimizer : bool, default=False
        Keep the optimizers' state (moment estimates), e.g. to resume training exactly.
    include_training_data : bool, default=False
        Keep datasets (``torch.utils.data.Dataset`` objects, which hold scans) that an
        estimator still references; by default they are left out.

    Returns
    -------
    pathlib.Path
        ``path``.

    See Also
    --------
    load : Load the file back.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcovid.persistence import dump, load
    >>> model = LogisticRegression().fit([[0.0], [1.0]], ["Non_COVID", "COVID"])
    >>> path = dump(model, Path(tempfile.mkdtemp()) / "model.skcovid")
    >>> load(path).predict([[0.9]]).tolist()
    ['COVID']
    """
    import safetensors.torch
    import skops.io

    encoder = Encoder(include_optimizer=include_optimizer, include_training_data=include_training_data)
    skeleton = skops.io.dumps(encoder.encode(estimator))
    weights = safetensors.torch.save(encoder.tensors)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        **_describe(estimator),
        "fit_interrupted": is_fit_interrupted(estimator),
        "includes": {"optimizer_state": include_optimizer, "training_data": include_training_data},
        "left_out": encoder.dropped,
        "n_tensors": len(encoder.tensors),
        "sha256": {SKELETON: _digest(skeleton), WEIGHTS: _digest(weights)},
    }
    manifest = json.loads(json.dumps(manifest))  # the form load reads back (tuples become lists)
    manifest[CONTENT_HASH] = _content_digest(manifest)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
            archive.writestr(SKELETON, skeleton)
            archive.writestr(WEIGHTS, weights)
        os.replace(partial, path)  # never a half-written model under the final name
    finally:
        partial.unlink(missing_ok=True)
    return path


def is_model_file(path):
    """Whether ``path`` is a file written by :func:`dump` (a zip with a skcovid manifest).

    Only the manifest (or, for a damaged file, its first bytes) is read: nothing is loaded
    or run. A file that begins as :func:`dump` writes it but was truncated or damaged
    counts too, so that :func:`load` says what is wrong with it.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    bool
    """
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
        return isinstance(manifest, dict) and manifest.get("format") == FORMAT
    except (OSError, ValueError, *_UNREADABLE):
        return _starts_like_model(path)


def read_manifest(path):
    """The manifest of a file written by :func:`dump`, as a dict, checked against its content hash.

    Nothing but the manifest is read.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        When the file is not one :func:`dump` writes, is truncated or damaged, is of a
        newer format, or its manifest does not match its ``content_sha256`` (it was edited).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
    except (ValueError, *_UNREADABLE) as exc:
        if _starts_like_model(path):
            raise _damaged(path, f"its {MANIFEST} cannot be read ({exc})") from exc
        raise ValueError(
            f"{str(path)!r} is not a model saved by skcovid.persistence.dump (no readable {MANIFEST}); "
            "save the fitted model with skcovid.persistence.dump."
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise ValueError(f"{str(path)!r} is not a {FORMAT} file (its {MANIFEST} says {found!r}).")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _damaged(path, f"its manifest's format_version is {version!r}, not a number")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} is format version {version}, newer than this skcovid reads ({FORMAT_VERSION}); "
            "upgrade skcovid."
        )
    if version < 2 and CONTENT_HASH not in manifest:
        warnings.warn(
            f"{str(path)!r} was saved by an older skcovid whose manifest records no {CONTENT_HASH}: its "
            "weights and skeleton are still checked against their hashes, but an edit of the manifest "
            "itself would go unnoticed. Save the model again with skcovid.persistence.dump.",
            ModelVersionWarning,
            stacklevel=3,
        )
        return manifest
    if manifest.get(CONTENT_HASH) != _content_digest(manifest):
        raise ValueError(
            f"{str(path)!r}: its {MANIFEST} does not match the {CONTENT_HASH} it records: the manifest "
            "(versions, classes, parameters, fit_interrupted or the members' hashes) was edited after the "
            "file was saved. Use the original file, or save the model again with skcovid.persistence.dump."
        )
    return manifest


def _warn_versions(saved, path):
    installed = _versions()
    changed = [
        f"{name} {saved[name]} (installed: {installed.get(name)})"
        for name in VERSIONED
        if name in saved and saved[name] != installed.get(name)
    ]
    if changed:
        warnings.warn(
            f"{str(path)!r} was saved with {', '.join(changed)}. It may load and predict differently; "
            "check it on known scans, or refit and save it with the installed versions.",
            ModelVersionWarning,
            stacklevel=3,
        )


def load(path, *, trusted=None, map_location=None):
    """Load a model saved by :func:`dump`.

    The manifest is checked against its content hash and the members' SHA-256 against
    the manifest (a changed, truncated or damaged file is refused), the types the skeleton names
    are checked before anything is built (classes from the packages skcovid models are
    made of; functions from skcovid, skorch and ``torch.nn.functional``), then the
    skeleton is loaded with skops and the weights with safetensors.

    Parameters
    ----------
    path : str or path-like
    trusted : list of str, optional
        More type names to trust (e.g. your own estimator classes in a pipeline), as the
        error message lists them. Only for files whose origin you know.
    map_location : str or torch.device, optional
        Device for every tensor (e.g. "cpu" for a model saved on a GPU); default: the
        device each tensor was saved from.

    Returns
    -------
    object
        The fitted estimator.

    Warns
    -----
    ModelVersionWarning
        When the file was saved with other versions of skcovid, torch, torchvision,
        skorch, scikit-learn, skops, safetensors or numpy than the installed ones.

    Raises
    ------
    ValueError
        When the file is not a skcovid model, is truncated or damaged, its manifest or a
        member does not match its hash (the file was changed after it was saved), or it
        names an untrusted type; the message names the file and what to do.
    """
    import safetensors.torch
    import skops.io

    manifest = read_manifest(path)
    try:
        with zipfile.ZipFile(path) as archive:
            skeleton, weights = archive.read(SKELETON), archive.read(WEIGHTS)
    except _UNREADABLE as exc:
        raise _damaged(path, f"a member cannot be read ({exc})") from exc
    digests = manifest.get("sha256") if isinstance(manifest.get("sha256"), dict) else {}
    for name, data in ((SKELETON, skeleton), (WEIGHTS, weights)):
        if _digest(data) != digests.get(name):
            raise ValueError(
                f"{str(path)!r}: {name} does not match the SHA-256 in its manifest: the file was changed "
                "or damaged after it was saved. Use the original file, or save the model again with "
                "skcovid.persistence.dump."
            )
    _warn_versions(manifest.get("versions", {}), path)
    names = [n for n in skops.io.get_untrusted_types(data=skeleton) if n not in _NODE_TYPES]
    check_names(names, trusted, path)
    tree = skops.io.loads(skeleton, trusted=[*_NODE_TYPES, *names])
    decoder = Decoder(safetensors.torch.load(weights), resolver(trusted, path), map_location)
    estimator = decoder.decode(tree)
    classes = getattr(estimator, "classes_", None)
    if classes is not None and _jsonable(list(classes.tolist())) != manifest.get("classes"):
        raise ValueError(
            f"{str(path)!r}: the classes in the manifest ({manifest.get('classes')}) are not "
            f"the model's ({list(classes)}); the manifest was edited. Use the original file."
        )
    return estimator
