"""Progress on stderr while a run goes: a live view on a terminal, plain lines otherwise.

Counting is RunCounter's (one counter, fed by the history events every backend writes); this
module only shows it. On a terminal the view has a header line (as miniwdl's "tasks finished,
ready, running"), one row per call and one bar per scatter; elsewhere a summary line every few
seconds. "running" is the number of job processes really running when the backend can tell
(the local Batch), otherwise the jobs submitted to Batch and not ended.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .counter import CallCounts, RunCounter

SUMMARY_EVERY_SECONDS = 10.0
BAR_WIDTH = 20


def header(counter: RunCounter, elapsed: float, running: int | None) -> str:
    """The one-line summary: tasks finished (done, cached), failed, running, queued."""
    t = counter.totals()
    line = f"{elapsed:7.1f}s  tasks {t.done + t.cached} finished (cached {t.cached})"
    if running is None:
        line += f", {t.in_batch} in Batch"
    else:
        running = min(running, t.in_batch)
        line += f", {running} running, {t.in_batch - running} queued"
    return line + f", {t.failed} failed"


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """A text bar: done of total."""
    if total <= 0:
        return " " * width
    full = min(width, done * width // total)
    return "█" * full + "░" * (width - full)


def call_row(call: CallCounts, total: int | None, submitted: str = "in Batch") -> str:
    """One call's row; a bar when its number of instances is known (its scatter's width).
    ``submitted`` names the jobs submitted and not ended: "in Batch" on AWS, "running" here."""
    counts = (
        f"done {call.done}  cached {call.cached}  failed {call.failed}  {submitted} {call.in_batch}"
    )
    if total:
        return (
            f"  {call.name:<24} {bar(call.finished, total)} {call.finished:>5}/{total:<5} {counts}"
        )
    return f"  {call.name:<24} {counts}"


def view_lines(
    counter: RunCounter,
    elapsed: float,
    running: int | None,
    scatters_of: dict[str, list[str]],
) -> list[str]:
    """Header, then one bar per scatter and one row per call."""
    lines = [header(counter, elapsed, running)]
    totals = counter.scatter_totals
    for scatter, total in totals.items():
        done = _shards_done(counter, scatter, scatters_of)
        lines.append(f"  {scatter:<24} {bar(done, total)} {done:>5}/{total:<5} shards")
    submitted = "in Batch" if running is None else "running"  # a local run knows its processes
    for call in counter.calls.values():
        chain = scatters_of.get(call.name) or [""]
        lines.append(call_row(call, totals.get(chain[0]), submitted))
    return lines


def _shards_done(counter: RunCounter, scatter: str, scatters_of: dict[str, list[str]]) -> int:
    """Shards of a scatter whose calls (its own and nested ones) have all finished, estimated
    from the call that is furthest behind."""
    fractions = []
    for call in counter.calls.values():
        chain = scatters_of.get(call.name) or []
        if scatter in chain:
            inner_total = counter.scatter_totals.get(chain[0], 0)
            fractions.append(call.finished / inner_total if inner_total else 0.0)
    if not fractions:
        return 0
    return int(min(fractions) * counter.scatter_totals.get(scatter, 0) + 1e-9)


@dataclass
class Progress:
    verbose: bool = False
    stream: Any = field(default_factory=lambda: sys.stderr)
    counter: RunCounter = field(default_factory=RunCounter)
    #: call name -> its enclosing scatters' state names, innermost first, for bars
    scatters_of: dict[str, list[str]] = field(default_factory=dict)
    #: job processes running now, when the backend knows (local Batch)
    running_jobs: Callable[[], int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _out_lock: threading.Lock = field(default_factory=threading.Lock)
    _start: float = field(default_factory=time.monotonic)
    _last: float = 0.0
    _live: Any = None

    def __enter__(self) -> Progress:
        if self.stream.isatty() and not self.verbose:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                console=Console(file=self.stream),
                refresh_per_second=4,
                transient=True,
                redirect_stdout=False,
                get_renderable=self._renderable,
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.counter.ended()
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None
        elapsed = time.monotonic() - self._start
        for line in view_lines(self.counter, elapsed, 0, self.scatters_of):
            self._print(line)

    def note(self, text: str) -> None:
        self._print(text)

    def on_output(self, job: str, line: str) -> None:
        self._print(f"[{job}] {line.rstrip()}")

    def on_event(self, execution: str, event: dict[str, Any]) -> None:
        with self._lock:
            message = self.counter.add(execution, event)
        if self.verbose and message:
            self._print(message)
        self._refresh()

    def _running(self) -> int | None:
        if self.running_jobs is None:
            return None
        try:
            return self.running_jobs()
        except Exception:  # a view never breaks a run
            return None

    def _renderable(self) -> Any:
        """What the live view shows at each refresh (rich calls this 4 times a second)."""
        from rich.text import Text

        with self._lock:
            elapsed = time.monotonic() - self._start
            lines = view_lines(self.counter, elapsed, self._running(), self.scatters_of)
        return Text("\n".join(lines))

    def _refresh(self) -> None:
        """Off a terminal: the summary line every SUMMARY_EVERY_SECONDS."""
        now = time.monotonic()
        if self._live is not None or self.verbose or now - self._last < SUMMARY_EVERY_SECONDS:
            return
        self._last = now
        with self._lock:
            line = header(self.counter, now - self._start, self._running())
        self._print(line)

    def _print(self, text: str) -> None:
        """One line at a time: events arrive from every execution's thread (each call machine
        execution has its own), and print() writes the text and its newline apart."""
        with self._out_lock:
            if self._live is not None:
                self._live.console.print(text, highlight=False, markup=False)
            else:
                self.stream.write(text + "\n")
                self.stream.flush()


def scatters_of_calls(definitions: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Call name -> the state names of its enclosing scatters, innermost first, from compiled
    definitions (``call X`` states under ``scatter Y: shards`` / ``: batch`` Map states)."""
    found: dict[str, list[str]] = {}

    def walk(states: dict[str, Any], chain: list[str]) -> None:
        for name, state in states.items():
            if name.startswith("call ") and ": " not in name and chain:
                found[name[len("call ") :]] = chain
            inner = chain
            if state.get("Type") == "Map" and name.startswith("scatter ") and ": " in name:
                scatter = name.split(": ", 1)[0]
                inner = chain if chain and chain[0] == scatter else [scatter, *chain]
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            walk(processor.get("States", {}), inner)
            for branch in state.get("Branches", []):
                walk(branch.get("States", {}), inner)

    for definition in definitions:
        walk(definition.get("States", {}), [])
    return found
