"""Map Runs and child executions of rehearsed executions, for the Step Functions API calls moto
cannot answer: ListMapRuns, DescribeMapRun, ListExecutions with ``mapRunArn``, and
DescribeExecution / GetExecutionHistory of a Distributed Map child or a child state machine's
execution.

Everything is read from the executor's history folders (``statemachine.executor``'s layout):
``map_runs/<map state>/<child>/history.jsonl`` for each Map Run child, ``executions/<name>/`` for
each ``states:startExecution`` child. A Map Run is found by its ``MapRunStarted`` event; its
children are the folders named for it (the k-th Map Run of a state prefixes ``k.``). The
executor names Map Run children by their index, which repeats across executions of a machine,
so their ARNs here carry the Map Run's id: ``...:execution:<machine>/<state>:<map run id>.<index>``
(AWS names them by a UUID: unique, as these are).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...statemachine.history import read_events
from ...task_runner.store import RunStore

TERMINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}
COUNT_KEYS = ("pending", "running", "succeeded", "failed", "timedOut", "aborted")


def when(stamp: Any) -> datetime | None:
    """An event's ISO timestamp as a datetime (what moto's responses serialize)."""
    if not isinstance(stamp, str) or not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class Child:
    """One child execution: a Map Run's item (or batch), or a child machine's execution."""

    arn: str
    name: str
    machine_arn: str
    folder: Path
    map_run_arn: str | None = None

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.folder / RunStore.HISTORY)

    def describe(self, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """DescribeExecution's fields (datetimes), from the history."""
        events = self.events() if events is None else events
        started = events[0] if events else {}
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "name": self.name,
            "stateMachineArn": self.machine_arn,
            "status": "RUNNING",
            "startDate": when(started.get("timestamp")) or datetime.now(UTC),
            "input": (started.get("executionStartedEventDetails") or {}).get("input", "{}"),
        }
        if self.map_run_arn:
            out["mapRunArn"] = self.map_run_arn
        last = events[-1] if events else {}
        status = TERMINAL.get(str(last.get("type")))
        if status is not None:
            details: dict[str, Any] = next(
                (v for k, v in last.items() if k.endswith("EventDetails")), {}
            )
            out["status"] = status
            out["stopDate"] = when(last.get("timestamp"))
            for key in ("output", "error", "cause"):
                if key in details:
                    out[key] = details[key]
        return out


@dataclass
class MapRun:
    """One Map Run: the Map state's run of child executions inside one execution."""

    arn: str
    execution_arn: str
    state: str
    prefix: str
    folder: Path  # <history dir>/map_runs/<state>
    started: datetime | None
    ended: dict[str, Any] | None = None
    children: list[Child] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    def status(self, counts: dict[str, int]) -> str:
        if self.ended is None:
            return "RUNNING"
        if self.ended.get("type") == "MapRunSucceeded":
            return "SUCCEEDED"
        return "ABORTED" if counts["aborted"] and not counts["failed"] else "FAILED"

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(COUNT_KEYS, 0)
        for child in self.children:
            status = child.describe()["status"]
            key = {"TIMED_OUT": "timedOut"}.get(status, status.lower())
            counts[key] += 1
        counts["total"] = len(self.children)
        counts["resultsWritten"] = counts["total"] - counts["running"] - counts["pending"]
        return counts

    def describe(self) -> dict[str, Any]:
        """DescribeMapRun's fields."""
        counts = self.counts()
        out: dict[str, Any] = {
            "mapRunArn": self.arn,
            "executionArn": self.execution_arn,
            "status": self.status(counts),
            "startDate": self.started or datetime.now(UTC),
            "maxConcurrency": 0,
            "toleratedFailurePercentage": 0.0,
            "toleratedFailureCount": 0,
            "itemCounts": counts,
            "executionCounts": counts,
            "redriveCount": 0,
        }
        if self.ended is not None:
            out["stopDate"] = when(self.ended.get("timestamp"))
        return out


class ChildIndex:
    """Every Map Run and child execution under some executions' history folders."""

    def __init__(self) -> None:
        self.children: dict[str, Child] = {}
        self.map_runs: dict[str, MapRun] = {}
        self.by_execution: dict[str, list[MapRun]] = {}

    @classmethod
    def scan(cls, roots: list[tuple[str, Path]]) -> ChildIndex:
        """``roots``: (execution ARN, history folder) of top-level executions (a redriven
        execution has one folder per run)."""
        index = cls()
        for arn, folder in roots:
            index._walk(arn, folder, read_events(folder / RunStore.HISTORY))
        return index

    def _walk(self, arn: str, folder: Path, events: list[dict[str, Any]]) -> None:
        runs = self._map_runs(arn, folder, events)
        self.by_execution.setdefault(arn, []).extend(runs)
        for run in runs:
            for child in run.children:
                self.children[child.arn] = child
                self._walk(child.arn, child.folder, child.events())
        for sub in sorted((folder / "executions").glob("*/history.jsonl")):
            child_events = read_events(sub)
            if not child_events:
                continue
            details = child_events[0].get("executionStartedEventDetails") or {}
            machine = str(details.get("stateMachineArn", ""))
            name = sub.parent.name
            child_arn = machine.replace(":stateMachine:", ":execution:", 1) + f":{name}"
            self.children[child_arn] = Child(child_arn, name, machine, sub.parent)
            self._walk(child_arn, sub.parent, child_events)

    def _map_runs(self, arn: str, folder: Path, events: list[dict[str, Any]]) -> list[MapRun]:
        runs: dict[int, MapRun] = {}
        seen: dict[str, int] = {}
        for event in events:
            kind = event.get("type")
            if kind == "MapRunStarted":
                run_arn = str((event.get("mapRunStartedEventDetails") or {}).get("mapRunArn"))
                state = run_arn.split(":mapRun:", 1)[-1].split("/", 1)[-1].rsplit(":", 1)[0]
                k = seen.get(state, 0)
                seen[state] = k + 1
                run = MapRun(run_arn, arn, state, f"{k}." if k else "",
                             folder / "map_runs" / state, when(event.get("timestamp")))  # fmt: skip
                run.children = self._children_of(run)
                self.map_runs[run_arn] = run
                runs[int(event.get("id", 0))] = run
            elif kind in ("MapRunSucceeded", "MapRunFailed"):
                ended = runs.get(int(event.get("previousEventId", -1)))
                if ended is not None:
                    ended.ended = event
        return list(runs.values())

    def _children_of(self, run: MapRun) -> list[Child]:
        pattern = re.compile(re.escape(run.prefix) + r"(\d+)$")
        base = run.arn.rsplit(":", 1)[0].replace(":mapRun:", ":execution:", 1)
        machine = run.arn.split(":mapRun:", 1)[0] + ":stateMachine:" + \
            run.arn.split(":mapRun:", 1)[1].rsplit(":", 1)[0]  # fmt: skip
        found: list[tuple[int, Child]] = []
        for sub in run.folder.glob("*"):
            match = pattern.match(sub.name)
            if match and sub.is_dir():
                arn = f"{base}:{run.id}.{sub.name}"
                found.append((int(match.group(1)), Child(arn, f"{run.id}.{sub.name}", machine,
                                                         sub, run.arn)))  # fmt: skip
        return [child for _, child in sorted(found, key=lambda pair: pair[0])]
