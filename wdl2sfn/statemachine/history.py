"""Execution history: events in the shape of Step Functions' GetExecutionHistory.

Each execution appends its events, one JSON object per line, to ``history.jsonl`` in its
history directory as they happen (line-buffered, so a crash keeps what was written). An event is
``{"timestamp", "type", "id", "previousEventId", "<type>EventDetails": {...}}`` with ``id``
counting 1..n per execution and the details key named as AWS names it (``stateEnteredEventDetails``
for every ``*StateEntered``, ``stateExitedEventDetails`` for every ``*StateExited``, otherwise the
type in lower camel case + ``EventDetails``). Timestamps are ISO 8601 in UTC.

The history quota is enforced here because it is a property of the event count: AWS lets an
execution produce 24,999 events and writes event 25,000 as ``ExecutionFailed`` (``States.Runtime``,
"The execution reached the maximum number of history events (25000)."). The terminal event of
an execution is always accepted, and only the first one is written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .errors import RUNTIME, ExecutionAbortedError
from .quotas import history_limit_cause

EventCallback = Callable[[str, dict[str, Any]], None]


class HistoryLimitError(ExecutionAbortedError):
    """The execution reached the history quota; its ExecutionFailed event is already written."""


def details_key(event_type: str) -> str:
    """The name of an event type's details field, as in GetExecutionHistory."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def iso_timestamp(seconds: float) -> str:
    """An epoch time as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds")


class History:
    """The event log of one execution: numbering, the quota, the file and the callback.

    Events are not kept in memory: the file is the history (``read_events``/``last_event`` read
    it back), so a run's memory does not grow with its events (10,000 events per Distributed Map
    child, a few children at once, would otherwise hold tens of MiB of JSON text)."""

    def __init__(
        self,
        execution_name: str,
        path: Path | None,
        limit: int,
        on_event: EventCallback | None,
        clock: Any,
    ) -> None:
        self.execution_name = execution_name
        self.path = path
        self.limit = limit
        self.on_event = on_event
        self.clock = clock
        self.count = 0
        self.closed = False
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "w", buffering=1, encoding="utf-8")  # noqa: SIM115

    def add(
        self, event_type: str, details: dict[str, Any] | None = None, previous: int | None = None
    ) -> int:
        """Append an event; return its id. Raises HistoryLimitError at the quota, or
        ExecutionAbortedError once the execution has ended (late events of aborted branches)."""
        with self._lock:
            if self.closed:
                raise ExecutionAbortedError(self.execution_name)
            if self.count + 1 >= self.limit:
                self._write_locked(
                    "ExecutionFailed",
                    {"error": RUNTIME, "cause": history_limit_cause(self.limit)},
                    self.count or None,
                )
                self.closed = True
                raise HistoryLimitError(self.execution_name)
            return self._write_locked(event_type, details, previous)

    def terminate(self, event_type: str, details: dict[str, Any] | None = None) -> bool:
        """Write the execution's terminal event unless one was written already."""
        with self._lock:
            if self.closed:
                return False
            self._write_locked(event_type, details, self.count or None)
            self.closed = True
            return True

    def _write_locked(
        self, event_type: str, details: dict[str, Any] | None, previous: int | None
    ) -> int:
        self.count += 1
        event: dict[str, Any] = {
            "timestamp": iso_timestamp(self.clock.time()),
            "type": event_type,
            "id": self.count,
            "previousEventId": previous if previous is not None else self.count - 1,
        }
        if details is not None:
            event[details_key(event_type)] = details
        if self._file is not None:
            try:
                self._file.write(json.dumps(event, ensure_ascii=False) + "\n")
            except OSError as exc:  # (disk full) name the file: a write error does not
                raise OSError(exc.errno, exc.strerror, str(self.path)) from exc
        if self.on_event is not None:
            self.on_event(self.execution_name, event)
        return self.count

    def close(self) -> None:
        """Close the file (events written later are dropped)."""
        with self._lock:
            self.closed = True
            if self._file is not None:
                self._file.close()
                self._file = None


def read_events(path: Path) -> list[dict[str, Any]]:
    """A history file's events; a line cut short by a crash (kill -9 mid-write) is skipped,
    so readers never fail on what a dead executor left behind."""
    events: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                event = _parse_line(line)
                if event is not None:
                    events.append(event)
    except OSError:
        pass
    return events


def first_event(path: Path) -> dict[str, Any] | None:
    """The first complete event of a history file (its ExecutionStarted), read alone."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                event = _parse_line(line)
                if event is not None:
                    return event
    except OSError:
        pass
    return None


def last_event(path: Path, chunk: int = 65536) -> dict[str, Any] | None:
    """The last complete event of a history file, read from its end (histories of big runs
    are large; the terminal event is always the last line)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            end = f.tell()
            start = end
            data = b""
            while start > 0:
                start = max(0, start - chunk)
                f.seek(start)
                data = f.read(end - start)
                lines = data.splitlines()
                if len(lines) >= 3 or start == 0:
                    break
    except OSError:
        return None
    for line in reversed(data.splitlines()):
        event = _parse_line(line.decode("utf-8", errors="replace"))
        if event is not None:
            return event
    return None


def _parse_line(line: str) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
