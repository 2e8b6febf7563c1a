"""One download of a remote input at a time per store: the first prepare that misses the
download cache takes an O_EXCL lock beside the cache entry and fetches; the others (the shards
of a scatter, prepared at once in Lambda invocations of their own) wait for the entry and reuse
it, instead of each fetching the same object in its own 10-minute invocation (issue 20, item 5).

A holder that died (its Lambda invocation timed out, or was stopped) leaves its lock behind: a
lock whose folder has not changed for ``STALE_S`` seconds (the holder's temporary file grows as
it downloads) is taken over. A waiter that outlives its own invocation times out like the holder
would; the state machine retries prepare on a timeout (compiler/asl.py: ``PREPARE_TIMEOUT_RETRY``),
and the retry finds the entry, or the lock still held, or stale.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .lock_file import take_lock

#: seconds without a change in the entry's folder after which a lock's holder is taken for gone
STALE_S = 60.0
POLL_S = 0.2


@contextlib.contextmanager
def download_lock(
    dest: Path,
    ready: Callable[[], bool],
    *,
    stale_s: float = STALE_S,
    poll_s: float = POLL_S,
) -> Iterator[bool]:
    """Yields True holding ``<dest>.lock`` (the caller downloads to ``dest``), or False once
    ``ready()`` says another holder finished it. The lock is removed on leaving the block."""
    lock = dest.parent / f".{dest.name}.lock"
    dest.parent.mkdir(parents=True, exist_ok=True)
    while True:
        if ready():
            yield False
            return
        if take_lock(lock, lambda held: _stale(held.parent, stale_s)):
            break
        time.sleep(poll_s)
    try:
        yield True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)


def _stale(folder: Path, stale_s: float) -> bool:
    """Has nothing in the entry's folder (the lock, the holder's temporary file) changed for
    ``stale_s`` seconds?"""
    newest = 0.0
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest > 0 and time.time() - newest > stale_s
