"""What `wdl2sfn list` and `wdl2sfn status` say about local runs, and why it is true.

A run's status is its execution's terminal history event (SUCCEEDED, FAILED, ABORTED,
TIMED_OUT), never the presence of outputs.json: a run whose upload failed after its outputs were
written is FAILED. A run without a terminal event is RUNNING while the executor that started it
is alive, and INTERRUPTED once it is gone (kill -9, a crash, a reboot). The executor's pid and
start time are recorded in ``<run>/executor.json``; the start time guards against a recycled pid.

Files a dead executor left half-written (a truncated run.json, a cut last history line) are read
as far as they go: these commands never fail on them.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any

from ..statemachine.history import last_event, read_events
from ..task_runner.store import RunStore
from .counter import RunCounter
from .failure import execution_histories

EXECUTOR_FILE = "executor.json"
TERMINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a process (clock ticks since boot, /proc/<pid>/stat field
    22): with the pid it names one process, even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def record_executor(run_dir: Path) -> None:
    """Write who runs this run: pid, start time and host."""
    pid = os.getpid()
    record = {"pid": pid, "start_time": process_start_time(pid), "host": socket.gethostname()}
    (run_dir / EXECUTOR_FILE).write_text(json.dumps(record) + "\n")


def executor_alive(run_dir: Path) -> bool:
    """Whether the executor that started this run still runs (same pid, same start time)."""
    record = read_json(run_dir / EXECUTOR_FILE)
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return False
    if record.get("host") not in (None, socket.gethostname()):
        return False
    start = process_start_time(record["pid"])
    return start is not None and start == record.get("start_time")


def read_json(path: Path) -> Any:
    """A JSON file's content, or None if it is missing or cut short."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_status(run_dir: Path) -> str:
    """SUCCEEDED | FAILED | ABORTED | TIMED_OUT | RUNNING | INTERRUPTED."""
    event = last_event(run_dir / RunStore.HISTORY)
    if event is not None and event.get("type") in TERMINAL:
        return TERMINAL[str(event["type"])]
    if executor_alive(run_dir):
        return "RUNNING"
    error = read_json(run_dir / RunStore.ERROR)
    if isinstance(error, dict) and error.get("status") in TERMINAL.values():
        return str(error["status"])
    return "INTERRUPTED"


def list_runs(root: Path) -> list[dict[str, Any]]:
    """One entry per run folder under root, oldest first; unreadable records are marked."""
    runs = []
    for record_path in sorted(root.glob("*/run.json")):
        run_dir = record_path.parent
        if run_dir.is_symlink():
            continue  # _LAST: a link to a run listed under its own name
        record = read_json(record_path)
        entry: dict[str, Any] = {"run": run_dir.name, "workflow": None}
        if isinstance(record, dict):
            entry["workflow"] = (record.get("workflow") or {}).get("name")
            entry["started"] = record.get("started")
        else:
            entry["note"] = "run.json is unreadable (cut short?)"
        entry["status"] = run_status(run_dir)
        runs.append(entry)
    return runs


def orphan_jobs(root: Path) -> frozenset[str]:
    """Ids of the local Batch jobs whose executor is gone but whose process still runs, from
    the ledger every local Batch keeps (``<shared>/_batch/running/*.jsonl``: a header naming the
    executor, then a ``start`` line per attempt with its process group and start time, an
    ``end`` line when it ends). They run until the next local run on the store (``resume``)
    sweeps the ledger and kills them; until then ``status`` counts them as running."""
    found: set[str] = set()
    for journal in sorted((RunStore(root).batch_dir() / "running").glob("*.jsonl")):
        with contextlib.suppress(OSError):
            found |= _orphans_in(journal.read_text().splitlines())
    return frozenset(found)


def _orphans_in(lines: list[str]) -> set[str]:
    entries = []
    for line in lines:
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                entries.append(entry)
    header = next((e for e in entries if "owner" in e), {})
    if header.get("host", socket.gethostname()) != socket.gethostname():
        return set()  # another machine's: its processes are not ours to see
    owner = header.get("owner")
    if isinstance(owner, int) and process_start_time(owner) == header.get("owner_started"):
        return set()  # a live executor's jobs are its own, not orphans
    running: dict[str, dict[str, Any]] = {}
    for e in entries:
        if "start" in e and isinstance(e.get("pid"), int):
            running[str(e["start"])] = e
        running.pop(str(e.get("end")), None)
    return {
        key.rsplit("-", 1)[0]
        for key, e in running.items()
        if process_start_time(e["pid"]) == e.get("started")
    }


def run_summary(run_dir: Path) -> dict[str, Any]:
    """status's answer: the status, per-call counts and durations, and the error if any."""
    counter = RunCounter()
    for history in execution_histories(run_dir):
        for event in read_events(history):
            counter.add(str(history.parent), event)
    status = run_status(run_dir)
    if status == "INTERRUPTED":  # its executor is gone, but not every job it started
        counter.ended(orphan_jobs(run_dir.parent))
    elif status != "RUNNING":
        counter.ended()
    record = read_json(run_dir / RunStore.RECORD)
    # absolute, as miniwdl prints run folders: the answer stays usable from any directory
    real = run_dir.resolve()  # (_LAST is a link: name the run it points to)
    out: dict[str, Any] = {"run": real.name, "dir": str(real), "status": status}
    if isinstance(record, dict):
        out["workflow"] = (record.get("workflow") or {}).get("name")
        out["started"] = record.get("started")
    out["tasks"] = counter.totals().as_dict()
    out["calls"] = {name: c.as_dict() for name, c in counter.calls.items()}
    out["scatters"] = dict(counter.scatter_totals)
    error = read_json(run_dir / RunStore.ERROR)
    if isinstance(error, dict) and status != "SUCCEEDED":
        out["error"] = error.get("summary") or error.get("message")
    with contextlib.suppress(OSError):
        out["history_events"] = sum(1 for _ in open(run_dir / RunStore.HISTORY, "rb"))
    return out
