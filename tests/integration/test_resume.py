"""Lose nothing: a run killed with SIGKILL and started again reuses every finished call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..conftest import ROOT
from .helpers import wdl2sfn

CHAIN = str(ROOT / "tests" / "fixtures" / "chain6.wdl")


def finished_calls(root: Path) -> int:
    return len(list(root.glob("*/calls/*/outputs.json")))


def test_killed_run_resumes_from_the_call_cache(tmp_path):
    log = tmp_path / "executions.log"
    root = tmp_path / "runs"
    args = [sys.executable, "-m", "wdl2sfn.cli", "run", CHAIN, f"log={log}", "--dir", str(root)]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while finished_calls(root) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert finished_calls(root) >= 2
    time.sleep(1.5)  # let an orphaned job of the killed run finish writing, as on a real host

    resumed = wdl2sfn("run", CHAIN, f"log={log}", "--dir", str(root))
    assert resumed.code == 0, resumed.stderr
    assert resumed.json["outputs"] == {"chain6.last": 64}
    executions = log.read_text().splitlines()
    assert len(executions) <= 7  # six calls, at most one of them twice
    assert sorted(set(executions)) == sorted(f"ran {2**i}" for i in range(6))


def test_resumed_outputs_equal_an_uninterrupted_run(tmp_path):
    fresh = wdl2sfn("run", CHAIN, f"log={tmp_path / 'a.log'}", "--dir", str(tmp_path / "a"))
    again = wdl2sfn("run", CHAIN, f"log={tmp_path / 'a.log'}", "--dir", str(tmp_path / "a"))
    assert fresh.json["outputs"] == again.json["outputs"]
    assert len((tmp_path / "a.log").read_text().splitlines()) == 6  # the second run reused all six


def test_concurrent_runs_on_one_root_get_distinct_directories(tmp_path):
    root = tmp_path / "runs"
    args = [
        sys.executable,
        "-m",
        "wdl2sfn.cli",
        "run",
        str(ROOT / "sample_wdl" / "hello" / "hello.wdl"),
        "--dir",
        str(root),
    ]
    procs = [
        subprocess.Popen([*args, f"who=run{i}"], stdout=subprocess.PIPE, text=True)
        for i in range(3)
    ]
    outs = [p.communicate()[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    import json

    dirs = {json.loads(o)["dir"] for o in outs}
    messages = sorted(json.loads(o)["outputs"]["hello.message"] for o in outs)
    assert len(dirs) == 3
    assert messages == ["Hello, run0!", "Hello, run1!", "Hello, run2!"]
