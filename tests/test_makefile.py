"""`make demo` installs the package and its locked runtime set; `make test` adds the locked dev
set; every install is from a lock with hashes, and none shows setuptools' editable-install warning
block (checked on the commands make would run)."""

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


def test_demo_installs_the_package_from_the_runtime_lock(tmp_path):
    plan = planned("demo", tmp_path)
    assert "--require-hashes --no-deps -r requirements/runtime.txt" in plan
    assert "--no-deps -e ." in plan
    assert "requirements/dev.txt" not in plan
    assert "wdl2sfn run" in plan


def test_test_installs_the_dev_lock_and_runs_the_suite_in_parallel(tmp_path):
    plan = planned("test", tmp_path)
    assert "--require-hashes --no-deps -r requirements/dev.txt" in plan
    assert "pytest" in plan and "-n auto" in plan and "--durations=25" in plan


def test_no_install_resolves_versions_itself(tmp_path):
    """Only `test-latest` may resolve: demo and test install the locks and nothing else."""
    for target in ("demo", "test", "test-fast"):
        installs = [ln for ln in planned(target, tmp_path).splitlines() if "pip install" in ln]
        assert all("--no-deps" in ln for ln in installs), target


def test_the_runtime_lock_agrees_with_the_dev_lock():
    """Every version `make demo` installs is the version `make test` tested."""

    def pins(name: str) -> dict[str, str]:
        text = (ROOT / "requirements" / name).read_text()
        return dict(
            ln.split(" ", 1)[0].split("==", 1)
            for ln in text.splitlines()
            if "==" in ln[:80] and not ln.startswith((" ", "#"))
        )

    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert runtime and all(dev.get(k) == v for k, v in runtime.items())


def test_installs_silence_the_editable_warning_block(tmp_path):
    installs = [ln for ln in planned("test", tmp_path).splitlines() if "pip install" in ln]
    assert installs and all(
        'PYTHONWARNINGS="ignore:Editable installation"' in ln for ln in installs
    )
