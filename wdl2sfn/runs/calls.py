"""History readers' view of the stack's call machine (contract/calls.py).

Each call of a workflow runs as a child execution of one shared machine whose states are named
``call``, ``call: cached?``, ``call: run``... Readers give them back their call's label, read
from the child's input (``call``, the calling state's name), so the counter, the failure
summary and the progress view see ``call align: run`` as they would in one machine.
"""

from __future__ import annotations

import json
from typing import Any

from ..contract import CALL_NAME_KEY, label_state

__all__ = ["call_label", "label_of", "label_state", "starts_child"]


def call_label(event: dict[str, Any]) -> str | None:
    """The calling state's name if ``event`` starts an execution of the call machine."""
    if event.get("type") != "ExecutionStarted":
        return None
    return label_of((event.get("executionStartedEventDetails") or {}).get("input"))


def label_of(started: Any) -> str | None:
    """The calling state's name in an execution's input (JSON text, as histories and
    DescribeExecution give it, or parsed) if the execution is the call machine's."""
    if isinstance(started, str):
        try:
            started = json.loads(started)
        except ValueError:
            return None
    if isinstance(started, dict) and "node" in started and "run" in started:
        label = started.get(CALL_NAME_KEY)
        return label if isinstance(label, str) else None
    return None


def starts_child(event: dict[str, Any]) -> bool:
    """Whether a TaskScheduled event starts a child execution (its failure is the child's)."""
    details = event.get("taskScheduledEventDetails") or {}
    return str(details.get("resourceType", "")).startswith("states")
