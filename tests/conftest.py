"""Shared fixtures: paths to the sample workflows and the conformance corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_wdl"
SHARED = ROOT.parent / "shared"

# `run` defaults to `--container auto`: on a machine with podman or docker every task would run in
# its image, and the suite's workflows name Docker Hub images (ubuntu:22.04) no test machine can
# pull. The suite runs tasks on the host unless a test says otherwise; tests/containers/ runs
# them in images built locally (.ci/containers.sh) and passes its own --container.
os.environ.setdefault("WDL2SFN_CONTAINER", "host")


def sample(name: str) -> Path:
    return SAMPLES / name / f"{name}.wdl"


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES


# The whole suite is what CI runs; the fast tier (`make test-fast`, `-m "not slow"`) leaves out
# what needs a moto server, a CDK synth, the rehearsal, the conformance corpus or a scale run.
SLOW_DIRS = {"aws", "cdk", "rehearsal", "conformance", "scale", "integration", "containers"}
SLOW_FILES = {
    "tests/statemachine/test_differential_moto.py",
    "tests/compiler/test_deep_workflows.py",
    "tests/cli/test_files.py",
    "tests/cli/test_run_folder.py",
    "tests/cli/test_s3upload.py",
    "tests/task_runner/test_run_steps.py",
    "tests/task_runner/test_task_localize.py",
}


#: Folders whose tests take minutes each: started first, so no worker is left with one at the end.
LONG_FIRST = ("rehearsal", "scale", "conformance")


def _start_order(item: pytest.Item) -> int:
    folder = Path(str(item.fspath)).resolve().relative_to(ROOT).parts[1]
    return LONG_FIRST.index(folder) if folder in LONG_FIRST else len(LONG_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(ROOT)
        if rel.parts[1] in SLOW_DIRS or rel.as_posix() in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
    items.sort(key=_start_order)
