"""Shared helpers: scan-table validation, torch devices and seeding, patient splits."""

from ._skorch import early_stopping_split, training_callbacks
from ._split import grouped_validation_split
from ._torch import resolve_device, seed_everything, torch_generator
from ._validation import MODALITIES, check_modality, check_scan_table

__all__ = [
    "MODALITIES",
    "check_modality",
    "check_scan_table",
    "early_stopping_split",
    "grouped_validation_split",
    "resolve_device",
    "seed_everything",
    "torch_generator",
    "training_callbacks",
]
