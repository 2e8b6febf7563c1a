"""One progress counter for a run, fed by its history events (GetExecutionHistory shape).

The live view, `wdl2sfn status` and `--follow` on AWS all count with this, so they agree. It
reads only what every backend writes, from every execution of the run (Distributed Map children,
child state machines), in any order their events interleave:

- a call instance starts when it reaches its cache check (``call X: cached?``; subworkflow
  calls never do, so they are not counted as tasks);
- a cache check (``call X: cached?``) followed by any state but ``call X: run``: a call cache
  hit (inside a scatter it is ``call X: done``, outside the next state of the workflow);
- ``TaskSubmitted`` of ``call X: run`` / ``run on-demand``: the job is in Batch, until that
  state's TaskSucceeded / TaskFailed / TaskStateAborted (so nothing stays "in Batch" after a
  failure aborted its siblings);
- ``call X: collect`` exited: done; a call state failing with an error that is not retried
  (``Lambda.*`` are): failed. A failed job leaves ``call X: run`` for its state graph's shared
  failure step (``job failed``, ``scatter Y: failed``...), which serves every call of the graph:
  the state entered right after ``call X: run`` fails is counted as ``call X: failed``;
- ``scatter Y`` exited: its output's ``scatter.count`` shards are added to scatter Y's total.

Events name their state only when the state is entered or exited; every other event is tied to
its state through ``previousEventId``, as in AWS histories.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .calls import call_label, label_state, starts_child

RUN_SUFFIXES = (": run", ": run on-demand")
END_OF_JOB = ("TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStateAborted")
END_OF_EXECUTION = (
    "ExecutionSucceeded",
    "ExecutionFailed",
    "ExecutionAborted",
    "ExecutionTimedOut",
)
# The payload's own ``"shard":[i, ...]`` (an escaped one inside a string reads ``\"shard\"``)
_SHARD = re.compile(r'"shard":\[([0-9, ]*)\]')
_JOB_ID = re.compile(r'"JobId":\s*"([^"]+)"')


@dataclass
class CallCounts:
    """One call's instances (shards) so far."""

    name: str
    started: int = 0
    done: int = 0
    cached: int = 0
    failed: int = 0
    in_batch: int = 0
    job_seconds: float = 0.0
    first: float | None = None
    last: float | None = None
    jobs: set[str] = field(default_factory=set, repr=False)  # Batch job ids submitted, not ended

    @property
    def finished(self) -> int:
        return self.done + self.cached + self.failed

    def seen(self, when: float | None) -> None:
        if when is None:
            return
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)

    def as_dict(self) -> dict[str, Any]:
        wall = (self.last - self.first) if self.first is not None and self.last else 0.0
        return {
            "started": self.started,
            "done": self.done,
            "cached": self.cached,
            "failed": self.failed,
            "running": self.in_batch,  # jobs submitted to Batch and not ended (queued or running)
            "elapsed_seconds": round(wall, 3),
            "job_seconds": round(self.job_seconds, 3),
        }


@dataclass(slots=True)
class _Origin:
    """What an event belongs to: its state's name, its shard (``"0"``, ``"1, 2"``, ``""``
    outside any scatter) and when its job was submitted (one per event of each running
    execution: slots keep 10,000 of them to 0.6 MB, not 1.6 MB)."""

    name: str
    submitted: float | None = None
    shard: str = ""
    job: str | None = None  # the Batch job id a ``run`` state submitted
    child: bool = False  # the state starts a child execution (its failure is the child's)

    def label(self, call: str) -> str:
        """The call as a ``-v`` line names it: ``t (shard 0)``, so shards tell apart."""
        return f"{call} (shard {self.shard})" if self.shard else call


@dataclass
class RunCounter:
    """Counts of a run's calls and scatters, from its events."""

    calls: dict[str, CallCounts] = field(default_factory=dict)
    scatter_totals: dict[str, int] = field(default_factory=dict)
    status: str | None = None
    _origins: dict[str, dict[int, _Origin]] = field(default_factory=dict)
    _root: str | None = None
    #: call machine executions: the label of the call each runs (runs/calls.py)
    _labels: dict[str, str] = field(default_factory=dict)

    def add(self, execution: str, event: dict[str, Any]) -> str | None:
        """Count one event; return a one-line description of what it changed, if anything."""
        kind = str(event.get("type", ""))
        origins = self._origins.setdefault(execution, {})
        if self._root is None and kind == "ExecutionStarted":
            self._root = execution
        label = call_label(event)
        if label is not None:
            self._labels[execution] = label
        before = origins.get(event.get("previousEventId") or -1)
        origin = self._origin(origins, kind, event, self._labels.get(execution))
        if kind.endswith("StateEntered") and before is not None:
            _name_failure_step(before.name, origin)
            hit = self._after_cache_check(before.name, origin, event)
            if hit:
                return hit
        if kind in END_OF_EXECUTION:
            self._origins.pop(execution, None)
            self._labels.pop(execution, None)
            if execution == self._root:
                self.status = kind[len("Execution") :].upper().replace("TIMEDOUT", "TIMED_OUT")
            return None
        return self._count(kind, origin, event)

    def _origin(
        self, origins: dict[int, _Origin], kind: str, event: dict[str, Any], label: str | None
    ) -> _Origin:
        ident = event.get("id")
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        before = origins.get(event.get("previousEventId") or -1)
        if details is not None:
            name = label_state(str(details.get("name", "")), label)
            # a state's exit may drop the payload (collect's is ``{}``): its entry had the shard
            shard = _shard(name, details)
            if shard is None:
                shard = before.shard if before and before.name == name else ""
            origin = _Origin(name, shard=shard)
        else:
            origin = (
                _Origin(before.name, before.submitted, before.shard, before.job, before.child)
                if before
                else _Origin("")
            )
        if kind == "TaskScheduled":
            origin.child = starts_child(event)
        if kind == "TaskSubmitted":
            origin.submitted = _seconds(event.get("timestamp"))
            origin.job = _job_id(event)
        if isinstance(ident, int):
            origins[ident] = origin
        return origin

    def _count(self, kind: str, origin: _Origin, event: dict[str, Any]) -> str | None:
        name = origin.name
        if name.startswith("scatter ") and kind == "TaskStateExited" and ":" not in name:
            return self._scatter(name, event)
        if not name.startswith("call "):
            return None
        call_name, _, step = name[len("call ") :].partition(": ")
        call = self.calls.get(call_name)
        if call is None:
            if not (kind == "ChoiceStateEntered" and step == "cached?"):
                return None
            call = self.calls[call_name] = CallCounts(call_name)
        when = _seconds(event.get("timestamp"))
        call.seen(when)
        return _apply(call, kind, step, origin, event, when)

    def _after_cache_check(
        self, previous: str, origin: _Origin, event: dict[str, Any]
    ) -> str | None:
        """A call's cache check that leads anywhere but its job was a cache hit (inside a
        scatter it ends in ``call X: done``; outside, the next state follows directly)."""
        name = origin.name
        if not (previous.startswith("call ") and previous.endswith(": cached?")):
            return None
        call_name = previous[len("call ") : -len(": cached?")]
        call = self.calls.get(call_name)
        if call is None or name.startswith(f"call {call_name}: run"):
            return None
        call.cached += 1
        call.seen(_seconds(event.get("timestamp")))
        return f"{origin.label(call_name)}: reused from the call cache"

    def _scatter(self, name: str, event: dict[str, Any]) -> str | None:
        try:
            output = json.loads(event["stateExitedEventDetails"]["output"])
            count = int(output["scatter"]["count"])
        except (KeyError, TypeError, ValueError):
            return None
        self.scatter_totals[name] = self.scatter_totals.get(name, 0) + count
        return f"{name}: {count} shards"

    def totals(self) -> CallCounts:
        """All calls together."""
        out = CallCounts("all")
        for c in self.calls.values():
            out.started += c.started
            out.done += c.done
            out.cached += c.cached
            out.failed += c.failed
            out.in_batch += c.in_batch
            out.job_seconds += c.job_seconds
            out.seen(c.first)
            out.seen(c.last)
        return out

    def ended(self, alive: frozenset[str] = frozenset()) -> None:
        """The run is over: nothing is in Batch any more (a killed run's jobs were stopped),
        but the jobs in ``alive`` (a killed executor's orphans, still running)."""
        for c in self.calls.values():
            c.in_batch = len(c.jobs & alive)


def _apply(
    call: CallCounts,
    kind: str,
    step: str,
    origin: _Origin,
    event: dict[str, Any],
    when: float | None,
) -> str | None:
    """The change one event makes to one call's counts."""
    if kind == "ChoiceStateEntered" and step == "cached?":
        call.started += 1
        return None
    if kind == "TaskSubmitted" and f": {step}" in RUN_SUFFIXES:
        call.in_batch += 1
        if origin.job:
            call.jobs.add(origin.job)
        return f"{origin.label(call.name)}: job submitted"
    if kind in END_OF_JOB and origin.submitted is not None:
        call.in_batch = max(0, call.in_batch - 1)
        call.jobs.discard(origin.job or "")
        if when is not None:
            call.job_seconds += max(0.0, when - origin.submitted)
        origin.submitted = None
    if kind == "TaskStateExited" and step == "collect":
        call.done += 1
        return f"{origin.label(call.name)}: done"
    failed = kind == "TaskFailed" and not (origin.child or _retried(event))
    if failed and f": {step}" not in RUN_SUFFIXES:
        call.failed += 1
        return f"{origin.label(call.name)}: failed"
    return None


def _name_failure_step(previous: str, origin: _Origin) -> None:
    """The shared failure step entered from ``call X: run`` works for call X: name it so."""
    if previous.startswith("call ") and previous.endswith(": run"):
        call = previous[: -len(": run")]
        if not origin.name.startswith(f"{call}: "):
            origin.name = f"{call}: failed"


def _shard(name: str, details: dict[str, Any]) -> str | None:
    """A call state's shard, read from its payload (only calls' are needed: the ``-v`` lines);
    None when the payload does not say."""
    if not name.startswith("call "):
        return ""
    found = _SHARD.search(str(details.get("input") or details.get("output") or ""))
    return found.group(1).replace(" ", "").replace(",", ", ") if found else None


def _job_id(event: dict[str, Any]) -> str | None:
    """The Batch job id in a TaskSubmitted event's output (SubmitJob's answer)."""
    found = _JOB_ID.search(str((event.get("taskSubmittedEventDetails") or {}).get("output", "")))
    return found.group(1) if found else None


def _retried(event: dict[str, Any]) -> bool:
    """Lambda service errors are retried by the compiled Retry rules: not a call failure."""
    error = str((event.get("taskFailedEventDetails") or {}).get("error", ""))
    return error.startswith("Lambda.")


def _seconds(timestamp: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(timestamp)).timestamp()
    except ValueError:
        return None


def count_events(events: list[tuple[str, dict[str, Any]]]) -> RunCounter:
    """A counter fed with (execution, event) pairs, in order."""
    counter = RunCounter()
    for execution, event in events:
        counter.add(execution, event)
    return counter
