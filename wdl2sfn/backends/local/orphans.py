"""The local Batch's ledger of running job attempts, so a killed executor's jobs are not lost.

Each job attempt runs in a process group of its own (a container's exit ends everything in it),
so when the executor itself is killed with SIGKILL its jobs keep running: nobody collects their
results, nobody removes their scratch folders, and a re-run starts the same calls again next to
them. Every attempt is therefore written down in ``<store>/_batch/running/<job>-<attempt>.json``
(its process group, the executor that owns it, both with their start times so a recycled pid is
never mistaken for them, its container and scratch folder) and crossed out when it ends. The next
local run on the same store sweeps the ledger: an attempt whose executor is gone is killed (its
group, and its container) and its scratch folder removed; attempts of a live executor (another
run going on at the same time) are left alone.

Killing rather than adopting: the orphan's call is re-run from its prepared call directory by
the new run (or found in the call cache if it had finished), so killing loses at most the
orphan's unfinished work, and the two copies never run side by side.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SWEEP_GRACE_SECONDS = 2.0


def process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, /proc/<pid>/stat field 22), which
    tells a process from a later one that reuses its pid; None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] == "Z":
        return None
    return fields[19]


def is_alive(pid: int, started: str | None) -> bool:
    """Is ``pid`` still the process that started at ``started``?"""
    now = process_start(pid)
    return now is not None and (started is None or now == started)


@dataclass(frozen=True)
class JobLedger:
    """Running attempts of one store's local Batch jobs (see module doc)."""

    directory: Path

    def record(self, key: str, pid: int, *, scratch: str | None, container: list[str]) -> None:
        """Note an attempt that just started (``container``: the argv that kills its container,
        or [] on the host)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        entry = {
            "pid": pid,
            "started": process_start(pid),
            "owner": os.getpid(),
            "owner_started": process_start(os.getpid()),
            "scratch": scratch,
            "container": container,
            "host": socket.gethostname(),
        }
        (self.directory / f"{key}.json").write_text(json.dumps(entry))

    def forget(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{key}.json").unlink()

    def sweep(self, grace: float = SWEEP_GRACE_SECONDS) -> list[dict[str, Any]]:
        """Kill the attempts of executors that are gone; return what was found and killed."""
        killed: list[dict[str, Any]] = []
        for path in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []:
            entry = _read(path)
            if (
                entry is not None
                and entry.get("host", socket.gethostname()) != socket.gethostname()
            ):
                continue  # a store shared over the network: another machine's jobs
            if entry is not None and is_alive(int(entry["owner"]), entry.get("owner_started")):
                continue  # another executor, still running: its jobs are its own
            if entry is not None:
                _kill_orphan(entry, grace)
                killed.append(entry)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return killed


def _read(path: Path) -> dict[str, Any] | None:
    """A ledger entry; None for one cut short by a kill mid-write (nothing to kill then: the
    attempt's record is written only after its process started, in one small write)."""
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and "pid" in entry and "owner" in entry else None


def _kill_orphan(entry: dict[str, Any], grace: float) -> None:
    pid = int(entry["pid"])
    if is_alive(pid, entry.get("started")):
        log.warning("killing job process group %d left running by a killed executor", pid)
        signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and is_alive(pid, entry.get("started")):
            time.sleep(0.05)
        signal_group(pid, signal.SIGKILL)
    if entry.get("container"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(entry["container"], capture_output=True, timeout=15)
    if entry.get("scratch"):
        shutil.rmtree(entry["scratch"], ignore_errors=True)


def signal_group(pgid: int, sig: int) -> None:
    """Signal a process group that may be gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
