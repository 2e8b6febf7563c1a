"""Issue 13, stopping: whatever signal ends a local run, nothing keeps running and nothing leaks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wdl2sfn.backends.local.orphans import is_alive

from ..conftest import SAMPLES
from .helpers import wdl2sfn

NAP = """version 1.0
workflow nap {
  input { String marker }
  scatter (i in [1, 2]) {
    call sleep_ { input: marker = marker, i = i }
  }
  output { Array[Int] n = sleep_.n }
}
task sleep_ {
  input { String marker  Int i }
  command <<<
    for k in $(seq 1 2000); do echo scratch > "$TMPDIR/f$k"; done
    echo $$ > "~{marker}.~{i}"
    sleep 120
    echo 1
  >>>
  output { Int n = read_int(stdout()) }
  runtime { cpu: 0.5  memory: "64 MiB" }
}
"""


def start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, dict[str, str]]:
    """A run of two sleeping tasks, once both have started (their pids are in marker.1/.2)."""
    wf = tmp_path / "nap.wdl"
    wf.write_text(NAP)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    marker = tmp_path / "marker"
    argv = [sys.executable, "-m", "wdl2sfn.cli", "run", str(wf), f"marker={marker}"]
    argv += ["--dir", str(tmp_path / "runs")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while not all(_pid(marker, i) for i in (1, 2)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_pid(marker, i) for i in (1, 2)), "the tasks did not start"
    return proc, marker, env


def _pid(marker: Path, i: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(Path(f"{marker}.{i}").read_text())
    return None


def task_pids(marker: Path) -> list[int]:
    return [p for p in (_pid(marker, 1), _pid(marker, 2)) if p is not None]


def any_alive(pids: list[int], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(is_alive(p, None) for p in pids):
            return False
        time.sleep(0.1)
    return True


def kill_all(pids: list[int]) -> None:
    for p in pids:
        with contextlib.suppress(OSError):
            os.killpg(p, signal.SIGKILL)


def test_sighup_stops_the_run_like_sigterm(tmp_path):
    proc, marker, _ = start(tmp_path)
    pids = task_pids(marker)
    try:
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err.decode()
        assert err.decode().strip().splitlines()[-1] == (
            "wdl2sfn: run stopped: stopped by signal SIGHUP"
        )
        assert (
            len([p for p in (tmp_path / "runs").glob("*/error.json") if p.parent.name != "_LAST"])
            == 1
        )
        assert not any_alive(pids)
    finally:
        kill_all(pids)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_leaves_no_job_tmpdir_behind(tmp_path, sig):
    proc, marker, _ = start(tmp_path)
    pids = task_pids(marker)
    try:
        proc.send_signal(sig)
        proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert sorted(p.name for p in (tmp_path / "scratch").iterdir()) == []
    finally:
        kill_all(pids)


def test_a_rerun_kills_the_jobs_a_killed_run_left_running(tmp_path):
    proc, marker, env = start(tmp_path)
    pids = task_pids(marker)
    try:
        proc.kill()  # SIGKILL: no handler runs, the jobs (own process groups) keep running
        proc.communicate(timeout=30)
        assert any_alive(pids, within=0.5)
        hello = SAMPLES / "hello" / "hello.wdl"
        again = wdl2sfn("run", str(hello), "--dir", str(tmp_path / "runs"), env=env)
        assert again.code == 0, again.stderr
        assert not any_alive(pids)
        assert sorted(p.name for p in (tmp_path / "scratch").iterdir()) == []
    finally:
        kill_all(pids)
