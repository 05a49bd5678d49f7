"""Which classes and functions a saved model may name, and the check run before anything is built.

A name is resolved (its module imported, the attribute read) only when its package is one
skcovid is built on; nothing in the file is ever called to resolve it. Classes are trusted
from those packages, except the few whose ``__setstate__`` would unpickle (skorch nets:
the loader rebuilds those itself, through ``__dict__``) and torch's code-carrying corners
(``torch.fx``, ``torch.jit``, ``torch.package``...). Functions are trusted from skcovid,
skorch and ``torch.nn.functional`` only, plus a few exact names (``NAMES``).
"""

from __future__ import annotations

import importlib

CLASS_PACKAGES = (
    "skcovid",
    "skorch",
    "torch",
    "torchvision",
    "sklearn",
    "imblearn",
    "numpy",
    "scipy",
    "collections",
)
TORCH_CLASS_MODULES = (
    "torch.nn",
    "torch.optim",
    "torch.utils.data",
    "torchvision.models",
    "torchvision.ops",
    "torchvision.transforms",
    "torchvision.tv_tensors",
)
FUNCTION_PACKAGES = ("skcovid", "skorch", "torch.nn.functional", "torch.nn.init")
#: Exact names trusted whatever their package: plain containers and scalars, ``partial``
#: (skops checks the function it wraps), ``print`` (a verbose callback's sink) and file paths
#: (a ``checkpoint`` or ``cache`` folder given as a ``Path``: building one touches no file).
NAMES = (
    *(
        f"builtins.{t}"
        for t in (
            "dict",
            "list",
            "tuple",
            "set",
            "frozenset",
            "str",
            "int",
            "float",
            "bool",
            "complex",
            "bytes",
            "slice",
        )
    ),
    "functools.partial",
    "builtins.print",
    *(
        f"pathlib.{t}"
        for t in ("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath")
    ),
)


def _within(module, packages):
    return any(module == p or module.startswith(p + ".") for p in packages)


def _lookup(module, qualname):
    """``module.qualname`` (imported) or None when the module or attribute does not exist."""
    try:
        obj = importlib.import_module(module)
    except ImportError:
        return None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


def _is_skorch_net_class(cls):
    from skorch import NeuralNet

    return issubclass(cls, NeuralNet)


def _is_tensor_class(cls):
    import torch

    return issubclass(cls, (torch.Tensor, torch.UntypedStorage, torch.TypedStorage))


def why_untrusted(name, *, rebuilt_by_skcovid=False):
    """Why ``name`` ("module.qualname" or "module:qualname") is not trusted; None when it is.

    Parameters
    ----------
    name : str
    rebuilt_by_skcovid : bool, default=False
        Whether skcovid's loader builds the object (through ``__dict__`` for skorch nets)
        rather than skops (which would call ``__setstate__``).
    """
    if ":" in name:
        module, qualname = name.split(":", 1)
    else:
        module, _, qualname = name.rpartition(".")
    if f"{module}.{qualname}" in NAMES:
        return None
    if not _within(module, CLASS_PACKAGES + FUNCTION_PACKAGES):
        return f"{module} is not a package skcovid models are made of"
    obj = _lookup(module, qualname)
    if obj is None:
        return "it does not exist in the installed packages"
    if isinstance(obj, type):
        if not _within(module, CLASS_PACKAGES):
            return "a class from outside the packages skcovid models are made of"
        if _within(module, ("torch",)) and not _within(module, TORCH_CLASS_MODULES):
            return f"torch classes are trusted from {', '.join(TORCH_CLASS_MODULES)} only"
        if _is_tensor_class(obj):
            return "tensors are stored as safetensors, never in the skeleton"
        if _is_skorch_net_class(obj) and not rebuilt_by_skcovid:
            return "a skorch net restored by its __setstate__ would unpickle its modules"
        return None
    if _within(module, FUNCTION_PACKAGES):
        return None
    return "functions are trusted from skcovid, skorch and torch.nn.functional only"


def check_names(names, trusted, path):
    """Raise a ValueError naming every untrusted name of ``names`` that ``trusted`` does not list."""
    trusted = set(trusted or ())
    refused = {name: why_untrusted(name) for name in sorted(set(names)) if name not in trusted}
    refused = {name: why for name, why in refused.items() if why is not None}
    if refused:
        listing = "; ".join(f"{name} ({why})" for name, why in refused.items())
        raise ValueError(
            f"{str(path)!r} names types skcovid does not trust: {listing}. Loading them could run code. "
            "If you know where the file comes from and what these are, pass them to "
            "skcovid.persistence.load(path, trusted=[...])."
        )


def resolver(trusted, path):
    """``resolve(name)`` for the Decoder: the class of an ObjectRef, checked."""

    def resolve(name):
        why = None if name in set(trusted or ()) else why_untrusted(name, rebuilt_by_skcovid=True)
        module, _, qualname = name.partition(":")
        cls = _lookup(module, qualname) if why is None else None
        if not isinstance(cls, type):
            raise ValueError(
                f"{str(path)!r} asks to rebuild {name}, which skcovid does not trust "
                f"({why or 'not a class'}); pass it to skcovid.persistence.load(path, trusted=[...]) "
                "only if you know where the file comes from."
            )
        return cls

    return resolve
