"""A redriven attempt (RedriveExecution) does not rerun the Tasks an earlier attempt finished.

AWS, RedriveExecution: "Step Functions preserves the results and execution history of the
successful steps, and doesn't rerun these steps when you redrive an execution. [...] For
workflows that include an Inline Map or Parallel state, RedriveExecution API action reschedules
and redrives only the iterations and branches that failed or aborted."
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wdl2sfn.statemachine.errors import TaskFailure
from wdl2sfn.statemachine.executor import Executor
from wdl2sfn.statemachine.redrive import RedriveLedger

from .conftest import events_of, machine

SCATTER = machine(
    ("Shards", {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": "work", "End": True},
        }},
    }),
)  # fmt: skip


def attempt(folder: Path, handler: Any, **kwargs: Any) -> Any:
    executor = Executor(SCATTER, {"work": handler}, history_dir=folder, **kwargs)
    return executor.run({"items": [0, 1, 2]}, "exec")


def test_a_redrive_reruns_only_the_iterations_that_failed(tmp_path: Path) -> None:
    calls: list[int] = []
    broken = {1}

    def work(call: Any) -> Any:
        calls.append(call.parameters)
        if call.parameters in broken:
            raise TaskFailure("Broken", f"item {call.parameters}")
        return call.parameters * 10

    first = attempt(tmp_path / "exec", work, max_threads=1)
    assert first.status == "FAILED"
    before = len(calls)
    broken.clear()
    ledger = RedriveLedger.read(tmp_path / "exec")
    second = attempt(tmp_path / "exec" / "redrive-1", work, redrive=ledger, redrive_count=1)
    assert second.status == "SUCCEEDED"
    assert second.output == [0, 10, 20]
    rerun = calls[before:]
    assert 1 in rerun
    assert 0 not in rerun
    assert ledger.replayed == len([c for c in calls[:before] if c != 1])


def test_a_preserved_task_leaves_no_new_events_in_the_redriven_attempt(tmp_path: Path) -> None:
    """AWS keeps the successful steps' history; the redriven attempt adds only what reran."""
    broken = {2}

    def work(call: Any) -> Any:
        if call.parameters in broken:
            raise TaskFailure("Broken", "")
        return call.parameters

    assert attempt(tmp_path / "exec", work, max_threads=1).status == "FAILED"
    broken.clear()
    ledger = RedriveLedger.read(tmp_path / "exec")
    second = attempt(tmp_path / "exec" / "redrive-1", work, redrive=ledger, redrive_count=1)
    entered = [e for e in events_of(second) if e["type"] == "TaskStateEntered"]
    assert [json.loads(e["stateEnteredEventDetails"]["input"]) for e in entered] == [2]
