"""The local Batch's ledger of running job attempts, so a killed executor's jobs are not lost.

Each job attempt runs in a process group of its own (a container's exit ends everything in it),
so when the executor itself is killed with SIGKILL its jobs keep running: nobody collects their
results, nobody removes their scratch folders, and a re-run starts the same calls again next to
them. Every attempt is therefore written down in its executor's journal,
``<store>/_batch/running/<executor pid>-<id>.jsonl``: a first line names the executor (pid, start
time, host), then one line when an attempt starts (its process group with its start time, so a
recycled pid is never mistaken for it; its container; its scratch folder) and one when it ends.
One journal per executor, appended to (a line costs microseconds; a file created and removed per
attempt cost about 0.3 ms of system CPU on this file system), compacted when it grows long, and
removed when its executor shuts down. The next local run on the same store sweeps the ledger: the
attempts of an executor that is gone are killed (their groups, and containers) and every scratch
folder its journal names removed; the journals of a live executor (another run going on at the
same time) are left alone. (A ``<job>-<attempt>.json`` entry, written by earlier versions, is
swept the same way.)

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
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .daemons import DaemonSweeper

log = logging.getLogger(__name__)

SWEEP_GRACE_SECONDS = 2.0
#: journal lines after which it is rewritten with only the attempts still running
COMPACT_AFTER_LINES = 4096


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


class JobLedger:
    """Running attempts of one store's local Batch jobs, in this executor's journal (module doc)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._lock = threading.Lock()
        self._running: dict[str, dict[str, Any]] = {}
        self._scratch: set[str] = set()  # every scratch folder named so far (some reused)
        self._fd: int | None = None
        self._lines = 0

    def record(self, key: str, pid: int, *, scratch: str | None, container: list[str]) -> None:
        """Note an attempt that just started (``container``: the argv that kills its container,
        or [] on the host)."""
        entry: dict[str, Any] = {"pid": pid, "started": process_start(pid), "scratch": scratch}
        entry["container"] = container
        with self._lock:
            self._append({"start": key, **entry})  # (a compaction on the way: not yet in it)
            self._running[key] = entry
            if scratch:
                self._scratch.add(scratch)

    def forget(self, key: str) -> None:
        with self._lock:
            if self._running.pop(key, None) is not None:
                self._append({"end": key})

    def close(self) -> None:
        """This executor is done (its attempts ended): its journal goes."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()

    def _append(self, line: dict[str, Any]) -> None:
        """One line, one write (O_APPEND): a kill mid-way leaves at most a cut last line."""
        if self._fd is None or self._lines >= COMPACT_AFTER_LINES:
            self._rewrite()
        assert self._fd is not None
        os.write(self._fd, (json.dumps(line) + "\n").encode())
        self._lines += 1

    def _rewrite(self) -> None:
        """Start the journal over: its header, the attempts still running, the scratch folders
        named (a reused one is not in any running attempt); replaces the old one atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        me = os.getpid()
        lines = [{"owner": me, "owner_started": process_start(me), "host": socket.gethostname()}]
        lines += [{"start": k, **e} for k, e in self._running.items()]
        lines += [{"scratch": s} for s in sorted(self._scratch)]
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        os.write(fd, "".join(json.dumps(x) + "\n" for x in lines).encode())
        os.replace(tmp, self.path)
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._lines = fd, len(lines)

    def sweep(self, grace: float = SWEEP_GRACE_SECONDS) -> list[dict[str, Any]]:
        """Kill the attempts of executors that are gone; return what was found and killed."""
        killed: list[dict[str, Any]] = []
        if not self.directory.is_dir():
            return killed
        for path in sorted(self.directory.glob("*.json*")):
            if path.name.startswith("."):
                continue  # a journal being rewritten
            journal = _read_journal(path)
            if journal is None:
                continue  # another machine's (a store shared over the network), or alive
            owner_gone_attempts, scratch = journal
            for entry in owner_gone_attempts:
                _kill_orphan(entry, grace)
                killed.append(entry)
            # and what those attempts started outside their groups (setsid daemons)
            DaemonSweeper().sweep(
                frozenset(str(e["start"]) for e in owner_gone_attempts if "start" in e)
            )
            for folder in scratch:
                shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return killed


def _read_journal(path: Path) -> tuple[list[dict[str, Any]], set[str]] | None:
    """(attempts not ended, scratch folders named) of a journal -- or of an older
    ``<job>-<attempt>.json`` entry -- whose executor is gone; None if it is alive or on
    another host. Lines cut short by a kill are skipped."""
    try:
        text = path.read_text()
    except OSError:
        return None  # gone (swept, compacted) since it was listed
    lines = [_parse(x) for x in text.splitlines()] if path.suffix == ".jsonl" else [_parse(text)]
    header = next((x for x in lines if x is not None and "owner" in x), None)
    if header is not None and header.get("host", socket.gethostname()) != socket.gethostname():
        return None
    if header is not None and is_alive(int(header["owner"]), header.get("owner_started")):
        return None
    running: dict[str, dict[str, Any]] = {}
    scratch: set[str] = set()
    for x in lines:
        if x is None:
            continue
        if "pid" in x:
            running[str(x.get("start", path.name))] = x
        if "end" in x:
            running.pop(str(x["end"]), None)
        if x.get("scratch"):
            scratch.add(str(x["scratch"]))
    return list(running.values()), scratch


def _parse(line: str) -> dict[str, Any] | None:
    try:
        x = json.loads(line)
    except ValueError:
        return None
    return x if isinstance(x, dict) else None


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


def signal_group(pgid: int, sig: int) -> None:
    """Signal a process group that may be gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
