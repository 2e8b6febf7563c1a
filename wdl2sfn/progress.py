"""Progress on stderr while a run goes: a live line on a terminal, plain lines otherwise.

It reads the same history events (GetExecutionHistory shape) that AWS writes, so the local
executor and `--backend aws --follow` share it.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

SUMMARY_EVERY_SECONDS = 10.0


@dataclass
class Counts:
    running: int = 0
    done: int = 0
    cached: int = 0
    failed: int = 0

    def line(self, elapsed: float) -> str:
        return (
            f"{elapsed:7.1f}s  jobs running {self.running}  done {self.done}  "
            f"cached {self.cached}  failed {self.failed}"
        )


@dataclass
class Progress:
    verbose: bool = False
    stream: Any = field(default_factory=lambda: sys.stderr)
    counts: Counts = field(default_factory=Counts)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _start: float = field(default_factory=time.monotonic)
    _last: float = 0.0
    _live: Any = None

    def __enter__(self) -> Progress:
        if self.stream.isatty() and not self.verbose:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                "", console=Console(file=self.stream), refresh_per_second=4, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None
        self._print(self.counts.line(time.monotonic() - self._start))

    def note(self, text: str) -> None:
        self._print(text)

    def on_output(self, job: str, line: str) -> None:
        self._print(f"[{job}] {line.rstrip()}")

    def on_event(self, execution: str, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        name = (
            event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        ).get("name", "")
        with self._lock:
            message = self._count(kind, name)
        if self.verbose and message:
            self._print(message)
        self._refresh()

    def _count(self, kind: str, name: str) -> str | None:
        c = self.counts
        if kind == "TaskStateEntered" and (
            name.endswith(": run") or name.endswith(": run on-demand")
        ):
            c.running += 1
            return f"{name.removesuffix(': run')}: job submitted"
        if kind == "TaskStateExited" and name.endswith(": collect"):
            c.running -= 1
            c.done += 1
            return f"{name.removesuffix(': collect')}: done"
        if kind == "TaskStateEntered" and name.endswith(": failed"):
            c.running -= 1
            c.failed += 1
            return f"{name.removesuffix(': failed')}: job failed"
        if kind == "SucceedStateEntered" and name.endswith(": done") and name.startswith("call "):
            c.cached += 1
            return f"{name.removesuffix(': done')}: reused from the call cache"
        return None

    def _refresh(self) -> None:
        now = time.monotonic()
        line = self.counts.line(now - self._start)
        if self._live is not None:
            self._live.update(line)
        elif not self.verbose and now - self._last >= SUMMARY_EVERY_SECONDS:
            self._last = now
            self._print(line)

    def _print(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)
