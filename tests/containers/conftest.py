"""The container tests' engine: podman, with the test images in the registry on loopback that
.ci/containers.sh sets up (CI runs it before `make test`; here it is run once per session, under
a lock, when podman is installed: warm, it takes under a second).

Without podman the tests skip on a developer's machine and FAIL under CI (CI=true): CI must run
them for real."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wdl2sfn.backends.local.checks import engine_problem

from ..conftest import ROOT
from ..integration.helpers import Result

SETUP = ROOT / ".ci" / "containers.sh"
REGISTRY = "127.0.0.1:5000/wdl2sfn-test"
BASE = f"{REGISTRY}/base:1"
USER = f"{REGISTRY}/user:1"
PULL = f"{REGISTRY}/pull:1"
NOBASH = f"{REGISTRY}/nobash:1"
#: the image's user and environment, as .ci/containers.sh builds `user:1`
IMAGE_UID = 1234
IMAGE_GREETING = "from-the-image"


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"container tests need podman and the test registry under CI: {why}")
    pytest.skip(f"no container engine here ({why}); CI runs these (.ci/containers.sh setup)")


@pytest.fixture(scope="session")
def images() -> Iterator[None]:
    """podman answering and the test images in the registry, or the test fails (CI) / skips."""
    problem = engine_problem("podman")
    if problem and "no podman command" in problem:
        _unavailable(problem)
    lock_path = Path(os.environ.get("TMPDIR", "/tmp")) / "wdl2sfn-containers-setup.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        setup = subprocess.run(
            ["bash", str(SETUP), "setup"], capture_output=True, text=True, timeout=900
        )
    if setup.returncode != 0:
        _unavailable(f".ci/containers.sh setup failed: {setup.stderr.strip()[-500:]}")
    problem = engine_problem("podman")
    if problem:
        _unavailable(problem)
    yield


def cli(
    *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = (), timeout: float = 300
) -> Result:
    """`wdl2sfn ARGS` in a child process: this environment, `env` over it, `unset` removed
    (tests/conftest.py sets WDL2SFN_CONTAINER=host for the rest of the suite)."""
    full = {**os.environ, **(env or {})}
    for name in unset:
        full.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=timeout,
    )
    return Result(out.returncode, out.stdout, out.stderr)


def path_without(tmp_path: Path, *hidden: str) -> str:
    """A PATH with every command of this PATH but `hidden` (symlinks in one folder): podman
    and docker live in /usr/bin with bash and the rest."""
    bindir = tmp_path / "path-without"
    bindir.mkdir(exist_ok=True)
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            target = bindir / name
            if name in hidden or target.exists() or target.is_symlink():
                continue
            target.symlink_to(os.path.join(folder, name))
    return str(bindir)
