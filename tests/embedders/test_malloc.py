"""tune_malloc: glibc's mallopt through ctypes, a warning elsewhere."""

import platform
import subprocess
import sys
from pathlib import Path

import pytest

import skcovid.embedders._malloc as malloc_module
from skcovid.embedders import tune_malloc


def test_applies_on_glibc_in_a_fresh_process():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    # a child process, since the setting is process-wide and permanent
    code = (
        "import importlib.util, sys; spec = importlib.util.spec_from_file_location('m', sys.argv[1]); "
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); print(m.tune_malloc())"
    )
    result = subprocess.run([sys.executable, "-c", code, str(Path(malloc_module.__file__))],
                            capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "True"


def test_other_c_libraries_warn_and_change_nothing(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda *a, **k: ("", ""))
    with pytest.warns(UserWarning, match="glibc"):
        assert tune_malloc() is False
