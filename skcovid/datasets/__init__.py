"""Scan tables: folder loaders, the synthetic default data, and patient-grouped splits."""

from ._folders import load_image_folders, load_radiography_database, load_scan_folder
from ._split import train_test_split_by_patient
from ._synthetic import make_synthetic_scans

__all__ = [
    "load_image_folders",
    "load_radiography_database",
    "load_scan_folder",
    "make_synthetic_scans",
    "train_test_split_by_patient",
]
