"""Shared helpers: scan-table validation, torch devices and seeding, patient splits, training runs."""

from ._checkpoint import TrainingRun
from ._interrupt import defer_interrupts, warn_if_interrupted, watch_interrupts
from ._skorch import early_stopping_split, training_callbacks
from ._split import grouped_validation_split
from ._torch import resolve_device, seed_everything, torch_generator
from ._validation import MODALITIES, check_labels, check_modality, check_scan_table

__all__ = [
    "MODALITIES",
    "TrainingRun",
    "check_labels",
    "check_modality",
    "check_scan_table",
    "defer_interrupts",
    "early_stopping_split",
    "grouped_validation_split",
    "resolve_device",
    "seed_everything",
    "torch_generator",
    "training_callbacks",
    "warn_if_interrupted",
    "watch_interrupts",
]
