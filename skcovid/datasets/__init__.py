"""Scan tables: folder loaders, the synthetic default data, and patient-grouped splits."""

from ._folders import load_image_folders, load_radiography_database, load_scan_folder
from ._split import train_test_split_by_patient
from ._synthetic import make_synthetic_scans
from ._table import load_scan_table

__all__ = [
    "load_image_folders",
    "load_radiography_database",
    "load_scan_folder",
    "load_scan_table",
    "make_synthetic_scans",
    "train_test_split_by_patient",
]
