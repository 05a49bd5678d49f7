"""Export a fitted skcovid image estimator to ONNX, with a metadata JSON beside it."""

from __future__ import annotations

import json
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np

from ..explain._contract import check_image_estimator, is_multilabel, split_outputs
from ._metadata import (
    FORMAT_VERSION,
    METADATA_HASH_KEY,
    file_sha256,
    metadata_path,
    metadata_sha256,
    onnx_error,
    to_json,
)

EXPORTERS = ("auto", "torchscript", "dynamo")


def _probability_module(module, *, multilabel, n_classes):
    """Wrap ``module`` so that it returns probabilities (and mask probabilities)."""
    import torch
    from torch import nn

    class ProbabilityOutputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.module = module

        def forward(self, image):
            logits, mask_logits = split_outputs(self.module(image))
            if multilabel:
                probabilities = torch.sigmoid(logits)
            elif logits.shape[1] == 1 and n_classes == 2:
                positive = torch.sigmoid(logits)
                probabilities = torch.cat([1.0 - positive, positive], dim=1)
            else:
                probabilities = torch.softmax(logits, dim=1)
            if mask_logits is None:
                return probabilities
            return probabilities, torch.sigmoid(mask_logits)

    return ProbabilityOutputs().eval()


def _preprocessing(preprocessor):
    """The preprocessor's parameters and resolved normalisation, JSON-ready."""
    params = to_json(preprocessor.get_params())
    stats = preprocessor._mean_std()
    normalization = {"kind": params["normalize"] if isinstance(params["normalize"], str) else "explicit"}
    if stats is not None:
        normalization["mean"] = stats[0].ravel().tolist()
        normalization["std"] = stats[1].ravel().tolist()
    return params, normalization


def _run_exporter(wrapper, example, path, *, opset, dynamic_batch, exporter, output_names):
    import torch

    dynamo = exporter == "dynamo" or (exporter == "auto" and opset >= 18)
    kwargs = {"input_names": ["image"], "output_names": output_names, "opset_version": opset}
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in torch >= 2.9 but still the only one that
        # writes opset <= 17 exactly; the warnings are about that, not about this model.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        if dynamo:
            if dynamic_batch:
                kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch", min=1)},)
            torch.onnx.export(wrapper, (example,), str(path), dynamo=True, verbose=False, **kwargs)
        else:
            if dynamic_batch:
                kwargs["dynamic_axes"] = {name: {0: "batch"} for name in ["image", *output_names]}
            torch.onnx.export(wrapper, (example,), str(path), dynamo=False, **kwargs)
    return "dynamo" if dynamo else "torchscript"


def export_onnx(estimator, path, *, opset=17, dynamic_batch=True, exporter="auto"):
    """Export a fitted image estimator to ONNX, with probabilities as outputs.

    The ONNX graph takes the preprocessed image batch ``image`` (float32, ``(N, C, H, W)``)
    and returns ``probabilities`` (softmax, or sigmoid for multi-label models) and, for the
    multi-task UNet, ``mask`` (sigmoid lung-mask probabilities, ``(N, 1, H, W)``). A JSON
    file with the same stem (``model.onnx`` -> ``model.json``) records what
    :class:`OnnxClassifier` needs to reproduce the preprocessing without torch: classes,
    image size, channels, normalisation, all ``ScanPreprocessor`` parameters, outputs,
    the multi-label flag, the opset and the skcovid version. The model is checked with
    ``onnx.checker.check_model``. The two files are tied together: the JSON records the
    graph's SHA-256 (``graph_sha256``) and the graph records the JSON's (model property
    ``skcovid_metadata_sha256``), so that :class:`OnnxClassifier` refuses a graph paired
    with an edited or foreign metadata file (swapped or extra classes, say).

    Parameters
    ----------
    estimator : fitted skcovid image estimator
        ``ImageClassifier``, ``MultiTaskUNet``, ``DRENetClassifier`` or ``FineTunedEmbedder``
        (anything exposing ``module_``, ``preprocessor_`` and ``classes_``).
    path : str or path-like
        Where to write the ``.onnx`` file (folders are created).
    opset : int, default=17
        ONNX opset version.
    dynamic_batch : bool, default=True
        Whether the batch dimension is dynamic; otherwise the model takes one image at a time.
    exporter : {"auto", "torchscript", "dynamo"}, default="auto"
        Which ``torch.onnx`` exporter to use. "auto" uses the TorchScript exporter for
        ``opset <= 17`` (it writes that opset exactly, quietly and fast) and the
        ``torch.export``-based one (``dynamo=True``, needs onnxscript) for ``opset >= 18``,
        the lowest opset it implements.

    Returns
    -------
    pathlib.Path
        The path of the ``.onnx`` file; the metadata is at ``path.with_suffix(".json")``.

    Examples
    --------
    Any fitted skcovid image estimator works (``ImageClassifier``, ``MultiTaskUNet``...);
    here a minimal object with the same attributes keeps the example fast:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from torch import nn
    >>> from skcovid.export import OnnxClassifier, export_onnx
    >>> from skcovid.preprocessing import ScanPreprocessor
    >>> class Fitted:
    ...     module_ = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                             nn.Linear(4, 2))
    ...     preprocessor_ = ScanPreprocessor(32)
    ...     classes_ = np.array(["COVID", "Non_COVID"])
    >>> folder = Path(tempfile.mkdtemp())
    >>> path = export_onnx(Fitted(), folder / "model.onnx")
    >>> sorted(p.name for p in folder.iterdir())
    ['model.json', 'model.onnx']
    >>> model = OnnxClassifier(path)  # onnxruntime only, no torch
    >>> model.predict_proba(np.zeros((3, 50, 40), dtype=np.uint8)).shape
    (3, 2)
    """
    import torch

    onnx = onnx_error("export_onnx", "onnx")
    estimator = check_image_estimator(estimator, what="export_onnx")
    if not isinstance(opset, Integral) or not 7 <= opset <= 25:
        raise ValueError(f"opset must be an integer ONNX opset version (e.g. 17); got {opset!r}.")
    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {EXPORTERS}; got {exporter!r}.")
    if exporter == "dynamo" and opset < 18:
        raise ValueError(f"The dynamo exporter writes opset >= 18 only; got opset={opset}. Use opset=18.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    preprocessor = estimator.preprocessor_
    classes = np.asarray(estimator.classes_)
    multilabel = is_multilabel(estimator)
    module = estimator.module_
    training = [(m, m.training) for m in module.modules()]
    device = next(module.parameters(), torch.empty(0)).device
    try:
        module.eval()
        wrapper = _probability_module(module, multilabel=multilabel, n_classes=len(classes))
        example = torch.zeros((2 if dynamic_batch else 1, preprocessor.channels, *preprocessor.size_))
        example = example.to(device)
        with torch.no_grad():
            has_mask = split_outputs(module(example))[1] is not None
        output_names = ["probabilities", "mask"] if has_mask else ["probabilities"]
        used = _run_exporter(
            wrapper, example, path, opset=opset, dynamic_batch=dynamic_batch, exporter=exporter,
            output_names=output_names,
        )
    finally:
        for m, flag in training:
            m.training = flag
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    params, normalization = _preprocessing(preprocessor)
    from .. import __version__

    metadata = {
        "format": "skcovid-onnx",
        "format_version": FORMAT_VERSION,
        "skcovid_version": __version__,
        "estimator": type(estimator).__name__,
        "classes": to_json(classes.tolist()),
        "classes_dtype": "str" if classes.dtype.kind in "OUS" else str(classes.dtype),
        "multilabel": multilabel,
        "thresholds": to_json(getattr(estimator, "thresholds_", None)) if multilabel else None,
        "input": {"name": "image", "shape": ["batch" if dynamic_batch else 1, preprocessor.channels,
                                              *preprocessor.size_], "dtype": "float32"},
        "image_size": list(preprocessor.size_),
        "channels": int(preprocessor.channels),
        "normalization": normalization,
        "preprocessing": params,
        "outputs": {
            "probabilities": "sigmoid per label (n, n_labels)" if multilabel
            else "softmax over classes (n, n_classes)",
            **({"mask": "sigmoid lung-mask probabilities (n, 1, H, W)"} if has_mask else {}),
        },
        "output_names": output_names,
        "opset": int(max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))),
        "dynamic_batch": bool(dynamic_batch),
        "exporter": used,
    }
    # Tie the two files together: the graph records the metadata's hash, the metadata the graph's.
    onnx.helper.set_model_props(model, {METADATA_HASH_KEY: metadata_sha256(metadata)})
    onnx.save(model, str(path))
    metadata["graph_sha256"] = file_sha256(path)
    metadata_path(path).write_text(json.dumps(metadata, indent=2))
    return path
