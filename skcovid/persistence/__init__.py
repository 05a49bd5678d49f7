"""Saving and loading fitted models without pickle.

:func:`dump` writes one file: a JSON manifest (versions, classes, parameters, hashes),
the network weights as safetensors, and the rest of the estimator through skops.
:func:`load` checks the hashes and the types the file names before it builds anything,
and warns (:class:`ModelVersionWarning`) when the versions differ from the installed ones.
"""

from ._interrupt import is_fit_interrupted
from ._io import ModelVersionWarning, dump, is_model_file, load, read_manifest

__all__ = ["ModelVersionWarning", "dump", "is_fit_interrupted", "is_model_file", "load", "read_manifest"]
