"""Redrive: the Task results an execution's earlier attempts finished, so that a redriven attempt
does not run them again.

AWS, RedriveExecution (Step Functions API reference): "When you redrive an execution, it
continues the failed execution from the unsuccessful step and uses the same input. Step
Functions preserves the results and execution history of the successful steps, and doesn't
rerun these steps when you redrive an execution." and "For workflows that include an Inline Map
or Parallel state, RedriveExecution API action reschedules and redrives only the iterations and
branches that failed or aborted." A failed Map Run is redriven with its parent, again only its
unsuccessful child executions (redrive-map-run).

Why a ledger and not a restart point: the executor's threads of control (branches, iterations,
Map Run children) live in memory and end with the attempt. A redriven attempt therefore walks the
machine again from StartAt with the same input, and every Task whose (state, resource,
parameters) an earlier attempt completed answers with that attempt's result without calling its
resource (``tasks.invoke``). Pass/Choice/Map states are re-entered (they have no side effects),
so the redriven attempt's history shows them again where AWS's would not; a Task that failed,
was aborted or never started runs, and so does everything after it. Results are taken in the
order they were recorded, each once: a polling loop that saw "running" twice then "done" sees
the same three answers, then calls the resource.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from pathlib import Path
from typing import Any

from .tokens import TOKEN_PATTERN

_CALLBACK = ".waitForTaskToken"


def task_key(state_name: str, resource: str, parameters: str) -> tuple[str, str, str]:
    """What makes two Task calls the same call: the state, its resource and its parameters
    (a callback's token left out: each attempt issues its own)."""
    if resource.endswith(_CALLBACK):
        # a ``.waitForTaskToken`` Task's parameters name a new token in every attempt
        parameters = TOKEN_PATTERN.sub("<task token>", parameters)
    return state_name, resource, parameters


class RedriveLedger:
    """Task results recorded by earlier attempts, taken once each by the redriven attempt."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str, str], deque[Any]] = {}
        self._lock = threading.Lock()
        self.replayed = 0  # how many Task calls the redriven attempt did not run

    @classmethod
    def read(cls, folder: Path) -> RedriveLedger:
        """Every succeeded Task in the histories under ``folder`` (the execution's, its Map Run
        children's and child executions', of every earlier attempt)."""
        ledger = cls()
        for path in sorted(folder.rglob("history.jsonl")):
            for key, output in _succeeded_tasks(path):
                ledger._done.setdefault(key, deque()).append(output)
        return ledger

    def take(self, state_name: str, resource: str, parameters: str) -> tuple[bool, Any]:
        """(True, the recorded result) when an earlier attempt completed this call."""
        key = task_key(state_name, resource, parameters)
        with self._lock:
            found = self._done.get(key)
            if not found:
                return False, None
            self.replayed += 1
            return True, found.popleft()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._done.values())


def _succeeded_tasks(path: Path) -> list[tuple[tuple[str, str, str], Any]]:
    """(key, result) of each TaskSucceeded in one history file, found by walking its chain of
    ``previousEventId`` back to its TaskScheduled (parameters) and TaskStateEntered (name)."""
    events: dict[int, dict[str, Any]] = {}
    found = []
    for line in path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut short by the attempt's end
        events[int(event["id"])] = event
        if event["type"] == "TaskSucceeded":
            key = _key_of(event, events)
            if key is not None:
                found.append((key, json.loads(event["taskSucceededEventDetails"]["output"])))
    return found


def _key_of(
    event: dict[str, Any], events: dict[int, dict[str, Any]]
) -> tuple[str, str, str] | None:
    scheduled: dict[str, Any] | None = None
    at = events.get(int(event.get("previousEventId") or 0))
    while at is not None:
        if at["type"] == "TaskScheduled" and scheduled is None:
            scheduled = at["taskScheduledEventDetails"]
        elif at["type"] == "TaskStateEntered" and scheduled is not None:
            name = at["stateEnteredEventDetails"]["name"]
            resource = _resource(scheduled)
            return task_key(name, resource, str(scheduled.get("parameters", "")))
        at = events.get(int(at.get("previousEventId") or 0))
    return None


def _resource(details: dict[str, Any]) -> str:
    """The state's Resource from the event's (resourceType, resource) split."""
    kind, name = str(details.get("resourceType", "")), str(details.get("resource", ""))
    return f"arn:aws:states:::{kind}:{name}" if kind else name
