"""Lock files on the shared store: one holder at a time across Lambda invocations and runner jobs.

A lock is a file created with O_EXCL, which NFSv4 (EFS) and Lustre make atomic, holding the
holder's pid. A holder that was killed (its invocation timed out, its job was stopped) leaves its
lock behind, so every user says when a lock counts as abandoned (``stale``): the job-definition
registry by the lock's age, the download cache by its entry's folder not changing.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path


def take_lock(lock: Path, stale: Callable[[Path], bool], mode: int = 0o644) -> bool:
    """True when this process now holds ``lock``. False when another does; an abandoned one
    (``stale(lock)``) is removed first, so the caller's next try can take it."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    except FileExistsError:
        if stale(lock):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
        return False
    try:
        os.write(fd, json.dumps({"pid": os.getpid()}).encode())
    finally:
        os.close(fd)
    return True


def older_than(seconds: float) -> Callable[[Path], bool]:
    """``stale`` by the lock's own age (a lock that vanished meanwhile counts as gone)."""

    def stale(lock: Path) -> bool:
        try:
            return time.time() - lock.stat().st_mtime > seconds
        except FileNotFoundError:
            return True

    return stale
