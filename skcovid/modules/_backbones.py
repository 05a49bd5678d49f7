"""Backbones (torchvision's and skcovid's own): build by name, load weights, strip the classifier."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

OFFLINE_HINT = (
    "Pass weights='path/to/checkpoint.pth' (a state_dict saved with "
    "torch.save(model.state_dict(), path)), copy the file into torch's cache folder "
    "{cache}, or use weights=None for a random initialisation."
)


def _is_checkpoint(weights):
    return isinstance(weights, (os.PathLike, Path)) or (
        isinstance(weights, str) and (os.sep in weights or weights.endswith((".pt", ".pth", ".bin")))
    )


def weights_identity(weights):
    """A string that identifies ``weights`` for caching: name, or path + size + mtime."""
    if weights is None:
        return "random"
    if _is_checkpoint(weights):
        path = Path(weights)
        stat = path.stat()
        return f"file:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return f"torchvision:{weights}"


def _named_weights(name, weights):
    from torchvision.models import get_model_weights

    try:
        enum = get_model_weights(name)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"torchvision has no weights registry for backbone {name!r}.") from exc
    try:
        return enum[weights] if weights != "DEFAULT" else enum.DEFAULT
    except KeyError as exc:
        raise ValueError(
            f"Unknown weights {weights!r} for {name!r}; available: {[w.name for w in enum]} or 'DEFAULT', "
            "or a local checkpoint path."
        ) from exc


def load_checkpoint(model, path):
    """Load a state_dict file into ``model``; the classifier layers may be absent or differ.

    Raises
    ------
    FileNotFoundError, ValueError
        When the file is missing, unreadable, or its feature-extractor weights do not fit.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint {str(path)!r} does not exist; check the weights path.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"Cannot load checkpoint {str(path)!r} as a torch state_dict ({exc}).") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"Checkpoint {str(path)!r} holds a {type(state).__name__}, not a state_dict.")
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = [k for k in own if k not in fitting]
    head = _last_linear_name(model)
    unexpected_missing = [k for k in missing if not (head and k.startswith(head + "."))]
    if unexpected_missing:
        raise ValueError(
            f"Checkpoint {str(path)!r} does not fit the backbone: {len(unexpected_missing)} tensors are "
            f"missing or of another shape (first: {unexpected_missing[:3]}). Was it saved from the same "
            "architecture?"
        )
    model.load_state_dict(fitting, strict=False)
    return model


def build_backbone(name, *, weights=None, random_state=None):
    """Build a torchvision classification model by name with the requested weights.

    Parameters
    ----------
    name : str
        Any name :func:`torchvision.models.get_model` knows ("resnet18", "densenet121", ...),
        or ``"scan_cnn"`` (:class:`ScanCNN`, for training from scratch; no named weights).
    weights : None, str or path-like
        None for a random initialisation (seeded by ``random_state``); a torchvision
        weight name ("DEFAULT", "IMAGENET1K_V1", ...); or a local state_dict file.
    random_state : int, optional
        Seeds the random initialisation.

    Returns
    -------
    torch.nn.Module
    """
    from torchvision.models import get_model, list_models

    from ._scratch_cnn import LOCAL_BACKBONES

    if name not in LOCAL_BACKBONES and name not in list_models():
        raise ValueError(
            f"Unknown backbone {name!r}; use a torchvision classification model name such as "
            "'resnet18', 'resnet50', 'densenet121', 'vgg16', 'efficientnet_b0', 'convnext_tiny', 'vit_b_16', "
            "or 'scan_cnn' (skcovid's small network for training from scratch)."
        )
    if random_state is not None:
        torch.manual_seed(int(random_state) % (2**31))
    if name in LOCAL_BACKBONES and not (weights is None or _is_checkpoint(weights)):
        raise ValueError(f"{name!r} has no published weights; use weights=None (random initialisation) "
                         "or a local checkpoint path.")
    if weights is None or _is_checkpoint(weights):
        model = LOCAL_BACKBONES[name]() if name in LOCAL_BACKBONES else get_model(name, weights=None)
        if weights is not None:
            load_checkpoint(model, weights)
        return model
    named = _named_weights(name, weights)
    try:
        return get_model(name, weights=named)
    except Exception as exc:  # URLError, OSError, RuntimeError from the download
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        raise RuntimeError(
            f"Could not load weights {named} for {name!r}: they are not in the local cache and "
            f"downloading failed ({type(exc).__name__}: {exc}). " + OFFLINE_HINT.format(cache=cache)
        ) from exc


def _last_linear_name(model):
    name = None
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            name = module_name
    return name


def strip_classifier(model):
    """Replace the model's final linear layer by an identity; return (model, n_features).

    Works generically for torchvision's classification models (``fc`` of ResNets,
    ``classifier`` of DenseNet/VGG/EfficientNet/ConvNeXt, ``heads`` of ViT): the output
    becomes the pooled penultimate features.
    """
    name = _last_linear_name(model)
    if name is None:
        raise ValueError(f"{type(model).__name__} has no final linear layer to remove.")
    n_features = model.get_submodule(name).in_features
    model.set_submodule(name, nn.Identity())
    return model, n_features
