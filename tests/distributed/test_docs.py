"""The public names of skcovid.distributed are documented (tests/test_project.py covers the others)."""

import re
from pathlib import Path

import skcovid.distributed

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_are_in_the_api_reference_and_the_scaling_page_is_in_the_toctree():
    api = (ROOT / "docs" / "api.rst").read_text()
    section = api.split(".. currentmodule:: skcovid.distributed\n", 1)[1].split(".. currentmodule::", 1)[0]
    assert set(skcovid.distributed.__all__) <= set(re.findall(r"^   (\w+)$", section, flags=re.M))
    toctrees = "\n".join(path.read_text() for path in (ROOT / "docs").rglob("*.rst"))
    assert re.search(r"^\s+(\S+/)?scaling$", toctrees, flags=re.M), "no toctree links the scaling page"
