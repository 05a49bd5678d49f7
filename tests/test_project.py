"""Project-level consistency: the docs list the public API, CI runs the README's test command."""

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# every public subpackage of skcovid (a new one is checked without editing this list)
SUBPACKAGES = sorted(
    path.parent.name
    for path in (ROOT / "skcovid").glob("*/__init__.py")
    if not path.parent.name.startswith("_")
)


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_public_names_resolve_and_are_documented(name):
    module = importlib.import_module(f"skcovid.{name}")
    api = (ROOT / "docs" / "api.rst").read_text()
    section = api.split(f".. currentmodule:: skcovid.{name}\n", 1)[1].split(".. currentmodule::", 1)[0]
    documented = set(re.findall(r"^   (\w+)$", section, flags=re.M))
    for public in module.__all__:
        assert getattr(module, public) is not None
        if callable(getattr(module, public)):  # constants (MODALITIES, IMAGENET_MEAN) aside
            assert public in documented, f"skcovid.{name}.{public} is missing from docs/api.rst"


def _readme_command(title):
    readme = (ROOT / "README.md").read_text()
    block = readme.split(title, 1)[1]
    return re.search(r"```bash\n(.+?)\n```", block, flags=re.S).group(1).strip()


def test_ci_runs_the_readme_test_command():
    command = _readme_command("Run the test suite")
    assert "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text()


def test_readme_main_command_is_the_demo():
    assert _readme_command("## Two commands").endswith("skcovid demo")
