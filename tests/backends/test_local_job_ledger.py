"""The local Batch's ledger: one journal per executor, swept by the next executor on the store,
and private TMPDIRs reused only when an attempt leaves them as they were made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from wdl2sfn.backends.local.batch.launch import ScratchDirs
from wdl2sfn.backends.local.orphans import JobLedger, is_alive

from .local_batch_helpers import job_params


class _Job:
    desc = {"jobId": "00000000-job"}


def _dead_owner_journal(directory: Path, entries: list[dict], tail: str = "") -> Path:
    """A journal as a SIGKILLed executor leaves it: the owner is a process that has exited."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], stdout=-1)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{int(gone.stdout)}-dead.jsonl"
    lines = [{"owner": int(gone.stdout), "owner_started": "1", "host": os.uname().nodename}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines + entries) + tail)
    return path


def test_a_journal_line_per_attempt_start_and_end_in_one_file(tmp_path):
    ledger = JobLedger(tmp_path / "running")
    for k in range(3):
        ledger.record(f"job{k}-1", os.getpid(), scratch=None, container=[])
        ledger.forget(f"job{k}-1")
    assert [p.name for p in (tmp_path / "running").iterdir()] == [ledger.path.name]
    lines = ledger.path.read_text().splitlines()
    assert len(lines) == 1 + 3 * 2  # header, then a start and an end per attempt
    ledger.close()
    assert list((tmp_path / "running").iterdir()) == []


def test_a_long_journal_is_compacted_to_the_attempts_still_running(tmp_path, monkeypatch):
    monkeypatch.setattr("wdl2sfn.backends.local.orphans.COMPACT_AFTER_LINES", 10)
    ledger = JobLedger(tmp_path / "running")
    ledger.record("long-1", os.getpid(), scratch=str(tmp_path / "s"), container=[])
    for k in range(20):
        ledger.record(f"short{k}-1", os.getpid(), scratch=None, container=[])
        ledger.forget(f"short{k}-1")
    lines = [json.loads(x) for x in ledger.path.read_text().splitlines()]
    assert len(lines) <= 10
    assert [x.get("start") for x in lines if "pid" in x][0] == "long-1"
    assert {"scratch": str(tmp_path / "s")} in lines
    ledger.close()


def test_sweep_kills_the_unended_attempts_of_a_gone_executor_and_removes_its_scratch(tmp_path):
    job = subprocess.Popen(["sleep", "60"], start_new_session=True)
    scratch = tmp_path / "scratch-used"
    scratch.mkdir()
    (scratch / "left").write_text("x")
    pooled = tmp_path / "scratch-idle"
    pooled.mkdir()
    start = {"start": "a-1", "pid": job.pid, "started": None, "scratch": str(scratch)}
    ended = {"start": "b-1", "pid": 1, "started": "never", "scratch": str(pooled)}
    cut = '{"start": "c-1", "pid": 12'  # the executor was killed mid-line
    path = _dead_owner_journal(tmp_path / "running", [start, ended, {"end": "b-1"}], cut)
    try:
        killed = JobLedger(tmp_path / "running").sweep(grace=0.5)
        job.wait(timeout=10)
        assert [k["pid"] for k in killed] == [job.pid]
        assert not is_alive(job.pid, None)
        assert not scratch.exists() and not pooled.exists()
        assert not path.exists()
    finally:
        job.kill()


def test_sweep_leaves_a_live_executors_journal_alone(tmp_path):
    running = JobLedger(tmp_path / "running")
    running.record("a-1", os.getpid(), scratch=None, container=[])
    assert JobLedger(tmp_path / "running").sweep() == []
    assert running.path.exists()
    running.close()


def test_sweep_reads_a_ledger_entry_of_earlier_versions(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], stdout=-1)
    job = subprocess.Popen(["sleep", "60"], start_new_session=True)
    entry = {"pid": job.pid, "started": None, "owner": int(gone.stdout), "owner_started": "1"}
    (tmp_path / "running").mkdir()
    (tmp_path / "running" / "j-1.json").write_text(json.dumps(entry))
    try:
        assert len(JobLedger(tmp_path / "running").sweep(grace=0.5)) == 1
        job.wait(timeout=10)
    finally:
        job.kill()


def test_an_attempt_that_leaves_its_tmpdir_empty_gives_it_to_the_next(tmp_path):
    dirs = ScratchDirs()
    first = dirs.make(_Job())
    dirs.drop(first)
    assert dirs.make(_Job()) == first
    dirs.drop_all()
    assert not os.path.exists(first)


def test_a_tmpdir_left_with_files_or_opened_up_is_removed_not_reused(tmp_path):
    dirs = ScratchDirs()
    used, opened = dirs.make(_Job()), dirs.make(_Job())
    Path(used, "x").write_text("left behind")
    os.chmod(opened, 0o777)
    dirs.drop(used)
    dirs.drop(opened)
    assert not os.path.exists(used) and not os.path.exists(opened)
    fresh = dirs.make(_Job())
    assert fresh not in (used, opened)
    dirs.drop_all()


def test_jobs_in_a_row_each_see_an_empty_private_tmpdir(make_batch, tmp_path):
    batch = make_batch(ledger_dir=tmp_path / "running")
    seen = []
    for k, leave in enumerate(["", "", 'touch "$TMPDIR/mine"', ""]):
        out = tmp_path / f"out{k}"
        script = f'{{ ls -A "$TMPDIR" | wc -l; stat -c %a "$TMPDIR"; echo "$TMPDIR"; }} > {out}'
        command = ["bash", "-c", f"{script}; {leave}"]
        batch.submit_job_sync(job_params(command, name=f"j{k}"), threading.Event())
        count, mode, tmpdir = out.read_text().split()
        assert (count, mode) == ("0", "700")
        seen.append(tmpdir)
    assert seen[0] == seen[1] == seen[2] != seen[3]  # reused until a job left a file in it
