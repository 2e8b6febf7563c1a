"""`list` and `status` tell the truth: the terminal event decides (not outputs.json), a live run
is RUNNING and a dead one INTERRUPTED (executor pid + start time), a Ctrl-C run is ABORTED;
status shows per-call counts and durations; half-written files never crash them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..conftest import SAMPLES
from ..integration.helpers import history, wdl2sfn
from .helpers import (
    FIXTURES,
    GATED,
    cli_json,
    kill_tasks,
    only_run,
    start_run,
    task_pids,
    wait_for,
)

HELLO = str(SAMPLES / "hello" / "hello.wdl")


def status_of(root: Path, run_dir: Path) -> str:
    return str(cli_json("status", run_dir.name, "--dir", str(root))["status"])


def started_tasks(run_dir: Path, n: int) -> bool:
    return len(list(run_dir.glob("calls/**/work/pid"))) >= n


def test_live_run_is_running_and_killed_run_is_interrupted(tmp_path):
    gate = tmp_path / "gate"
    proc = start_run(GATED, f"gate={gate}", "n=1", "--dir", str(tmp_path))
    run_dir = wait_for(lambda: only_run(tmp_path), "the run folder")
    try:
        wait_for(lambda: started_tasks(run_dir, 1), "the task to start")
        status = cli_json("status", str(run_dir))
        assert status["status"] == "RUNNING"
        assert status["calls"]["wait"]["running"] == 1
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert status_of(tmp_path, run_dir) == "INTERRUPTED"
        assert [r["status"] for r in cli_json("list", "--dir", str(tmp_path))] == ["INTERRUPTED"]
    finally:
        kill_tasks(run_dir)
        proc.kill()


def test_interrupted_run_is_aborted(tmp_path):
    gate = tmp_path / "gate"
    proc = start_run(GATED, f"gate={gate}", "n=1", "--dir", str(tmp_path))
    run_dir = wait_for(lambda: only_run(tmp_path), "the run folder")
    try:
        wait_for(lambda: started_tasks(run_dir, 1), "the task to start")
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
        assert status_of(tmp_path, run_dir) == "ABORTED"
    finally:
        kill_tasks(run_dir)
        proc.kill()


def test_failed_run_is_failed_even_with_outputs_written(tmp_path):
    out = wdl2sfn("run", HELLO, "who=x", "--dir", str(tmp_path))
    run_dir = out.run_dir
    # a failure after outputs.json (as an upload failure): the terminal event decides
    events = history(run_dir)
    events[-1] = {**events[-1], "type": "ExecutionFailed", "executionFailedEventDetails": {}}
    (run_dir / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    assert (run_dir / "outputs.json").exists()
    assert status_of(tmp_path, run_dir) == "FAILED"


def test_status_counts_calls_of_a_failed_scatter(tmp_path):
    out = wdl2sfn("run", str(FIXTURES / "failing_shard.wdl"), "--dir", str(tmp_path))
    status = cli_json("status", str(out.run_dir))
    assert status["status"] == "FAILED"
    shard = status["calls"]["shard"]
    assert shard["failed"] == 1 and shard["running"] == 0
    assert shard["done"] + shard["failed"] <= 10
    assert status["scatters"] == {"scatter i in range(n)": 10}
    assert "shard 7" in status["error"]


def test_status_counts_cache_hits_outside_scatters(tmp_path):
    wdl2sfn("run", HELLO, "who=x", "--dir", str(tmp_path))
    again = wdl2sfn("run", HELLO, "who=x", "--dir", str(tmp_path))
    status = cli_json("status", str(again.run_dir))
    assert status["status"] == "SUCCEEDED"
    assert (status["tasks"]["cached"], status["tasks"]["done"]) == (1, 0)


def test_status_gives_per_call_durations(tmp_path):
    out = wdl2sfn("run", HELLO, "who=x", "--dir", str(tmp_path), "--no-cache")
    call = cli_json("status", str(out.run_dir))["calls"]["greet"]
    assert call["done"] == 1
    assert call["job_seconds"] > 0 and call["elapsed_seconds"] >= call["job_seconds"]


def test_list_and_status_survive_a_truncated_run_json(tmp_path):
    out = wdl2sfn("run", HELLO, "who=x", "--dir", str(tmp_path))
    record = out.run_dir / "run.json"
    record.write_text(record.read_text()[:20])
    runs = cli_json("list", "--dir", str(tmp_path))
    assert runs[0]["status"] == "SUCCEEDED" and "unreadable" in runs[0]["note"]
    assert cli_json("status", str(out.run_dir))["status"] == "SUCCEEDED"


def test_list_and_status_survive_a_truncated_last_history_line(tmp_path):
    gate = tmp_path / "gate"
    proc = start_run(GATED, f"gate={gate}", "n=1", "--dir", str(tmp_path))
    run_dir = wait_for(lambda: only_run(tmp_path), "the run folder")
    try:
        wait_for(lambda: started_tasks(run_dir, 1), "the task to start")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        kill_tasks(run_dir)
    with open(run_dir / "history.jsonl", "a") as f:
        f.write('{"timestamp": "2026-01-01T00:00:00+00:00", "type": "TaskSta')
    assert status_of(tmp_path, run_dir) == "INTERRUPTED"
    assert cli_json("list", "--dir", str(tmp_path))[0]["status"] == "INTERRUPTED"
    assert cli_json("status", str(run_dir))["calls"]["wait"]["started"] == 1


def test_task_submitted_is_written_while_the_job_runs(tmp_path):
    gate = tmp_path / "gate"
    proc = start_run(GATED, f"gate={gate}", "n=1", "--dir", str(tmp_path))
    run_dir = wait_for(lambda: only_run(tmp_path), "the run folder")
    try:
        wait_for(lambda: started_tasks(run_dir, 1), "the task to start")
        children = list(run_dir.rglob("history.jsonl"))
        submitted = [
            e
            for h in children
            for e in map(json.loads, h.read_text().splitlines())
            if e["type"] == "TaskSubmitted"
            and e["taskSubmittedEventDetails"]["resourceType"] == "batch"
        ]
        assert len(submitted) == 1
        assert "JobId" in json.loads(submitted[0]["taskSubmittedEventDetails"]["output"])
        gate.write_text("")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    finally:
        kill_tasks(run_dir)
        proc.kill()


def test_resume_refuses_a_run_that_is_still_running(tmp_path):
    """Two executors on one run folder would race on its history: resume waits for the first."""
    gate = tmp_path / "gate"
    proc = start_run(GATED, f"gate={gate}", "n=1", "--dir", str(tmp_path))
    run_dir = wait_for(lambda: only_run(tmp_path), "the run folder")
    try:
        wait_for(lambda: started_tasks(run_dir, 1), "the task to start")
        done = subprocess.run(
            [sys.executable, "-m", "wdl2sfn.cli", "resume", run_dir.name, "--dir", str(tmp_path)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2
        assert "is still running" in done.stderr.splitlines()[-1]
        runs = [p for p in tmp_path.iterdir() if (p / "run.json").exists() and not p.is_symlink()]
        assert runs == [run_dir]  # no second run started
    finally:
        gate.write_text("")
        proc.wait(timeout=60)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_an_orphan_job_counts_as_running_until_resume_kills_it(tmp_path):
    """Issue 24 item 6: after `kill -9` of `run` its job goes on (a process group of its own);
    `status` said INTERRUPTED with nothing running. The local Batch's ledger knows the orphan:
    it is counted as running until `resume` (whose local Batch sweeps the ledger) kills it."""
    gate = tmp_path / "gate"
    proc = start_run(GATED, f"gate={gate}", "n=1", "--dir", str(tmp_path))
    run_dir = wait_for(lambda: only_run(tmp_path), "the run folder")
    resumed = None
    try:
        wait_for(lambda: started_tasks(run_dir, 1), "the task to start")
        ((pid, _),) = task_pids(run_dir)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        status = cli_json("status", str(run_dir))
        assert status["status"] == "INTERRUPTED" and _alive(pid)
        assert status["calls"]["wait"]["running"] == 1 and status["tasks"]["running"] == 1
        resume = [sys.executable, "-m", "wdl2sfn.cli", "resume", run_dir.name]
        resumed = subprocess.Popen([*resume, "--dir", str(tmp_path)], text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        wait_for(lambda: not _alive(pid), "resume to kill the orphan")
        gate.write_text("")
        _, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
    finally:
        gate.write_text("")
        kill_tasks(run_dir)
        proc.kill()
        if resumed is not None:
            resumed.kill()


def test_status_of_LAST_from_a_relative_dir_names_the_run_and_its_absolute_folder(tmp_path):
    """Issue 24 item 6: `status _LAST --dir runs` (relative) answered `"run": "_LAST"`."""
    out = wdl2sfn("run", HELLO, "who=x", "--dir", "runs", "--container", "host", cwd=tmp_path)
    assert out.code == 0, out.stderr
    done = subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", "status", "_LAST", "--dir", "runs"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    status = json.loads(done.stdout)
    assert status["dir"] == str(out.run_dir) and Path(status["dir"]).is_absolute()
    assert status["run"] == out.run_dir.name != "_LAST"
