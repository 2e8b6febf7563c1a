"""`make demo` installs the package and nothing more; `make test` adds the dev extras; neither
shows setuptools' editable-install warning block (checked on the commands make would run)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def planned(target: str, tmp_path) -> str:
    """The commands `make TARGET` would run on a fresh clone (a .venv that does not exist)."""
    out = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_demo_installs_only_the_package(tmp_path):
    plan = planned("demo", tmp_path)
    assert "pip install" in plan and " -e ." in plan
    assert "[dev]" not in plan
    assert "wdl2sfn run" in plan


def test_test_installs_the_dev_extras(tmp_path):
    plan = planned("test", tmp_path)
    assert "-e '.[dev]'" in plan and "pytest" in plan


def test_installs_silence_the_editable_warning_block(tmp_path):
    installs = [ln for ln in planned("test", tmp_path).splitlines() if "pip install" in ln]
    assert installs and all(
        'PYTHONWARNINGS="ignore:Editable installation"' in ln for ln in installs
    )
