"""Runs a test can look at while they run: start `wdl2sfn run` in the background, wait for
something to be true, release the gated tasks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
GATED = str(FIXTURES / "gated.wdl")


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Poll until check() is truthy; fail naming `what` if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_run(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wdl2sfn.cli", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        start_new_session=True,
    )


def cli_json(*args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def only_run(root: Path) -> Path | None:
    runs = [p for p in root.glob("*/run.json") if not p.parent.is_symlink()]  # (not _LAST)
    return runs[0].parent if len(runs) == 1 else None


def task_pids(run_dir: Path) -> list[tuple[int, Path]]:
    """(pid, work folder) of the gated tasks that recorded themselves."""
    return [
        (int(p.read_text()), p.parent)
        for p in run_dir.glob("calls/**/work/pid")
        if p.read_text().strip()
    ]


def kill_tasks(run_dir: Path) -> None:
    """Clean up task processes a killed executor left behind: only a process still running in
    its task's work folder (a recycled pid belongs to someone else)."""
    for pid, work in task_pids(run_dir):
        try:
            if Path(os.readlink(f"/proc/{pid}/cwd")).resolve() != work.resolve():
                continue
            group = os.getpgid(pid)
            if group != os.getpgrp():
                os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            pass
