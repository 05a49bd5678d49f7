"""The public names of skcovid.distributed are documented (tests/test_project.py covers the others)."""

import re
from pathlib import Path

import skcovid.distributed

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_are_in_the_api_reference_and_the_scaling_page_is_in_the_toctree():
    api = (ROOT / "docs" / "api.rst").read_text()
    section = api.split(".. currentmodule:: skcovid.distributed\n", 1)[1].split(".. currentmodule::", 1)[0]
    assert set(skcovid.distributed.__all__) <= set(re.findall(r"^   (\w+)$", section, flags=re.M))
    assert re.search(r"^   scaling$", (ROOT / "docs" / "index.rst").read_text(), flags=re.M)
