"""Processes a host job leaves behind (``setsid nohup server &``), killed when its attempt ends.

An attempt runs in a process group of its own, and its end kills that group; but ``setsid``
(or a double fork with a new session) leaves the group, and such a daemon used to outlive the
job and the run, holding its files and a core. A container's end kills everything in it; on the
host the one thing every descendant keeps is its environment, so each attempt's process gets
``WDL2SFN_LOCAL_ATTEMPT=<job id>-<attempt>`` (the host process only: never passed into a
container), and a sweep reads ``/proc/<pid>/environ`` for processes whose attempt has ended and
kills them. A sweep reads every process's environment (13.6 ms with 135 processes here), so it
runs in one background thread, at most twice a second however many attempts end, and once more
when the local Batch shuts down. Linux only (``/proc``); elsewhere nothing is swept. A process
that empties its own environment (``env -i``) escapes it, on purpose.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time

log = logging.getLogger(__name__)

MARKER = "WDL2SFN_LOCAL_ATTEMPT"
_NEEDLE = MARKER.encode() + b"="
INTERVAL_SECONDS = 0.5


def marker(job_id: str, attempt: int) -> dict[str, str]:
    """The environment entry that marks an attempt's processes and all they start."""
    return {MARKER: f"{job_id}-{attempt}"}


class DaemonSweeper:
    """Kills the marked processes of attempts that have ended."""

    def __init__(self, proc: str = "/proc") -> None:
        self._proc = proc
        self._ended: set[bytes] = set()
        self._lock = threading.Lock()
        self._pending = threading.Event()
        self._thread: threading.Thread | None = None

    def ended(self, job_id: str, attempt: int) -> None:
        """The attempt is over: its leftovers are killed by the next sweep (within a second)."""
        if not os.path.isdir(self._proc):
            return
        with self._lock:
            self._ended.add(marker(job_id, attempt)[MARKER].encode())
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="daemons")
                self._thread.start()
        self._pending.set()

    def _loop(self) -> None:
        while True:
            self._pending.wait()
            self._pending.clear()
            try:
                self.sweep()
            except Exception:  # never let a sweep take the local Batch down
                log.exception("sweeping processes left by ended jobs failed")
            time.sleep(INTERVAL_SECONDS)

    def sweep(self, keys: frozenset[str] = frozenset()) -> list[int]:
        """Kill every process of an ended attempt (and of the attempts ``keys``, a killed
        executor's: ``<job id>-<attempt>``) now; returns their pids."""
        with self._lock:
            ended = frozenset(self._ended) | {k.encode() for k in keys}
        if not ended:
            return []
        killed = []
        me = os.getpid()
        for pid in _pids(self._proc):
            if pid != me and _attempt_of(self._proc, pid) in ended:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        if killed:
            log.info("killed %d process(es) left by ended jobs: %s", len(killed), killed)
        return killed


def _pids(proc: str) -> list[int]:
    try:
        return [int(p) for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return []


def _attempt_of(proc: str, pid: int) -> bytes | None:
    """The attempt marker in a process's environment (None: unmarked, gone or unreadable)."""
    try:
        with open(f"{proc}/{pid}/environ", "rb") as f:
            env = f.read()
    except OSError:
        return None
    at = env.find(_NEEDLE)
    if at < 0 or (at > 0 and env[at - 1] != 0):
        return None
    start = at + len(_NEEDLE)
    end = env.find(b"\0", start)
    return env[start:] if end < 0 else env[start:end]
