"""Extract the WDL 1.1 specification's example tests once per session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import SHARED

CONFORMANCE = SHARED / "conformance"


@pytest.fixture(scope="session")
def spec_tests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CONFORMANCE.exists():
        pytest.skip("../shared/conformance is not beside the project")
    tests = tmp_path_factory.mktemp("spec") / "tests"
    subprocess.run(
        [
            sys.executable,
            str(CONFORMANCE / "extract_spec_tests.py"),
            str(CONFORMANCE / "wdl-1.1" / "SPEC.md"),
            str(tests),
            "-d",
            str(CONFORMANCE / "wdl-1.1" / "data"),
        ],
        check=True,
        capture_output=True,
    )
    return tests
