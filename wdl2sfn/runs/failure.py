"""What failed, in words a user can act on.

A failed shard ends its Distributed Map with ``States.ExceedToleratedFailureThreshold``, and a
failed child state machine ends its caller's Task with the child's DescribeExecution JSON: both
are true to AWS and useless to a user. This module looks through the run's execution histories
for the innermost failure (invariant 7, "errors keep their names") and describes it as miniwdl
would: the call, its shard index, the exit status, the last stderr line and the log folder.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..statemachine.history import first_event, last_event, read_events
from ..task_runner.store import RunStore
from .calls import call_label, label_of, label_state

#: errors that only say "something inside failed"
WRAPPER_ERRORS = frozenset(
    {"States.ExceedToleratedFailureThreshold", "States.ItemReaderFailed", "States.BranchFailed"}
)


#: "call NAME-2-1: " at the start of a run-time step's message (the summary names the call)
CALL_PREFIX = re.compile(r"^(?:call [A-Za-z_][\w.]*(?:-\d+)*|task [A-Za-z_][\w.]* failed): ")


#: a call machine state quoted in a States.Runtime cause
_QUOTED_CALL_STATE = re.compile(r"'(call(?:: [^']*)?)'")


@dataclass
class Failure:
    """The innermost failure of a run, as the error JSON and the last stderr line tell it."""

    error: str
    message: str
    call: str | None = None
    shard: list[int] = field(default_factory=list)
    exit_status: int | None = None
    stderr_last: str | None = None
    call_dir: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: what failed, the last line of its stderr, where its logs are."""
        first = (self.message.strip().splitlines() or [self.error])[0]
        if self.call is None:
            return f"{first} (shard {', '.join(map(str, self.shard))})" if self.shard else first
        where = f"call {self.call}"
        if self.shard:
            where += f" (shard {', '.join(str(i) for i in self.shard)})"
        line = f"{where} failed"
        if self.exit_status is not None:
            line += f" with exit status {self.exit_status}"
        else:
            line += f": {CALL_PREFIX.sub('', first)}"
        if self.stderr_last:
            line += f": {self.stderr_last}"
        if self.call_dir and not self.details.get("never_ran"):  # (a refused job has none)
            line += f" (logs: {self.call_dir})"
        return line

    def exit_code(self) -> int:
        """The failed task's exit status as the run's, as miniwdl does; 1 otherwise."""
        if self.exit_status is not None and 0 < self.exit_status < 256:
            return self.exit_status
        return 1


def is_wrapper(error: str, cause: str) -> bool:
    """Whether an execution's error only reports that a child (shard, machine) failed."""
    if error in WRAPPER_ERRORS:
        return True
    parsed = _parsed(cause)
    return isinstance(parsed, dict) and "ExecutionArn" in parsed and "Status" in parsed


def innermost_failure(run_dir: Path, error: str, cause: str) -> tuple[str, str, Path]:
    """(error, cause, history file) of the earliest failed execution that is not just a
    wrapper."""
    top = run_dir / RunStore.HISTORY
    if not is_wrapper(error, cause):
        return error, cause, top
    found: list[tuple[str, str, str, Path]] = []
    for history in execution_histories(run_dir):
        event = last_event(history)
        if not event or event.get("type") != "ExecutionFailed":
            continue
        details = event.get("executionFailedEventDetails") or {}
        inner_error, inner_cause = details.get("error", ""), details.get("cause", "")
        if not is_wrapper(inner_error, inner_cause):
            found.append((str(event.get("timestamp", "")), inner_error, inner_cause, history))
    if not found:
        return error, _unwrap_description(cause), top
    _, inner_error, inner_cause, history = min(found)
    return inner_error, _relabelled(inner_cause, history), history


def _relabelled(cause: str, history: Path) -> str:
    """A call machine execution's cause naming its state (``'call: run'``) as the calling
    workflow would (``'call fill: run'``)."""
    first = first_event(history)  # its ExecutionStarted: the rest is not needed here
    label = call_label(first) if first else None
    return _relabel(cause, label) if label else cause


def _relabel(text: str, label: str) -> str:
    return _QUOTED_CALL_STATE.sub(lambda m: f"'{label_state(m.group(1), label)}'", text)


def failing_state(history: Path, cause: str) -> tuple[str, list[int]] | None:
    """The state whose Task failed with this cause, and the shard its input names."""
    events = read_events(history)
    by_id = {e.get("id"): e for e in events}
    label = call_label(events[0]) if events else None
    for event in reversed(events):
        details = event.get("taskFailedEventDetails") or {}
        if event.get("type") != "TaskFailed" or details.get("cause") != cause:
            continue
        entered = event
        while entered is not None and not str(entered.get("type", "")).endswith("StateEntered"):
            entered = by_id.get(entered.get("previousEventId"))
        if entered is None:
            return None
        state = entered.get("stateEnteredEventDetails") or {}
        shard = (_parsed(str(state.get("input", ""))) or {}).get("shard") or []
        name = label_state(str(state.get("name", "")), label)
        if not name.startswith("call "):  # a failure step works for the call before it
            before = _state_before(by_id, entered)
            name = label_state(before, label) if before else name
        return name, [int(i) for i in shard if isinstance(i, int)]
    return None


def _state_before(by_id: dict[Any, dict[str, Any]], entered: dict[str, Any]) -> str | None:
    """The call state that led into ``entered`` (``call X: run`` -> ``job failed``), if any."""
    event = by_id.get(entered.get("previousEventId"))
    while event is not None:
        details = event.get("stateExitedEventDetails") or event.get("stateEnteredEventDetails")
        if details is not None:
            name = str(details.get("name", ""))
            return name if name.startswith("call") else None
        event = by_id.get(event.get("previousEventId"))
    return None


def execution_histories(run_dir: Path) -> Iterator[Path]:
    """Every execution's history.jsonl under a run: the run's, Map children's, child machines'."""
    history = run_dir / RunStore.HISTORY
    if history.is_file():
        yield history
    for sub in _child_dirs(run_dir):
        yield from execution_histories(sub)


def _child_dirs(history_dir: Path) -> Iterator[Path]:
    with contextlib.suppress(OSError):
        for map_state in (history_dir / "map_runs").iterdir():
            with contextlib.suppress(OSError):
                yield from sorted(p for p in map_state.iterdir() if p.is_dir())
    with contextlib.suppress(OSError):
        yield from sorted(p for p in (history_dir / "executions").iterdir() if p.is_dir())


def describe(run_dir: Path, error: str, cause: str) -> Failure:
    """The innermost failure, with its call, shard and exit status when a task failed."""
    error, cause, history = innermost_failure(run_dir, error, cause)
    message, error_type = cause, error or "Error"
    parsed = _parsed(cause)
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        message = str(parsed["errorMessage"])
        error_type = str(parsed.get("errorType", error_type))
    elif isinstance(parsed, dict) and "JobName" in parsed and "StatusReason" in parsed:
        message = batch_job_message(parsed)
    failure = Failure(error=error_type, message=message)
    call_dir = _call_dir(message)
    if call_dir is not None:
        _add_call(failure, run_dir, call_dir)
    else:
        _add_state(failure, run_dir, history, cause)
    return failure


def _add_state(failure: Failure, run_dir: Path, history: Path, cause: str) -> None:
    """A failure that names no call folder (an output, input or evaluation error): the call
    and shard of the state that failed, from the history."""
    located = failing_state(history, cause)
    if located is None:
        return
    name, shard = located
    failure.shard = shard
    if name.startswith("call "):
        call = name[len("call ") :].split(": ", 1)[0]
        call_dir = run_dir / RunStore.CALLS / call
        for i in shard:
            call_dir = call_dir / f"shard-{i}"
        if call_dir.is_dir():
            _add_call(failure, run_dir, call_dir)
        failure.call = call


def batch_job_message(job: dict[str, Any]) -> str:
    """A failed Batch job (a Task state's Cause) in words: which job, why, where its log is."""
    name = str(job.get("JobName", ""))
    what = "the upload of outputs to S3" if name.startswith("upload-") else f"Batch job {name}"
    attempts = len(job.get("Attempts") or []) or 1
    line = f"{what} failed after {attempts} attempt{'s' if attempts > 1 else ''}"
    line += f": {job.get('StatusReason')}"
    container = job.get("Container") or {}
    if isinstance(container.get("ExitCode"), int):
        line += f" (exit status {container['ExitCode']})"
    if container.get("LogStreamName"):
        line += f"; log: {container['LogStreamName']}"
    return line


def _call_dir(message: str) -> Path | None:
    """The call folder a task failure's message names (its ``stderr: PATH`` line)."""
    for line in message.splitlines():
        if line.startswith("stderr: "):
            return Path(line.split(": ", 1)[1]).parent
    return None


def _add_call(failure: Failure, run_dir: Path, call_dir: Path) -> None:
    """Call name and shard from the folder (calls/<call>/shard-<i>/...), details from its
    error.json (written by the collect step)."""
    failure.call_dir = str(call_dir)
    with contextlib.suppress(ValueError):
        parts = call_dir.relative_to(run_dir / RunStore.CALLS).parts
        shards = [p for p in parts if p.startswith("shard-") and p[6:].isdigit()]
        failure.shard = [int(p[6:]) for p in shards]
        failure.call = "/".join(p for p in parts if p not in shards)
    details: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        details = json.loads((call_dir / RunStore.ERROR).read_text())
    failure.details = details if isinstance(details, dict) else {}
    code = failure.details.get("exit_code")
    failure.exit_status = code if isinstance(code, int) else None
    tail = str(failure.details.get("stderr_tail") or "")
    if not tail:
        tail = _section_tail(failure.message)
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
    failure.stderr_last = lines[-1] if lines else None


def _section_tail(message: str) -> str:
    """The stderr tail quoted in a task failure's message (between its header and paths)."""
    out: list[str] = []
    inside = False
    for line in message.splitlines():
        if line.startswith("stderr (last"):
            inside = True
        elif inside and line.split(":", 1)[0] in ("stdout", "stderr", "command"):
            break
        elif inside:
            out.append(line)
    return "\n".join(out)


def _unwrap_description(cause: str) -> str:
    """A child execution's DescribeExecution JSON -> its own error and cause, in words."""
    parsed = _parsed(cause)
    if isinstance(parsed, dict) and "ExecutionArn" in parsed:
        inner = f"{parsed.get('Error', '')}: {parsed.get('Cause', '')}".strip(": ")
        name = "child state machine " + str(parsed.get("StateMachineArn", "")).rsplit(":", 1)[-1]
        label = label_of(parsed.get("Input"))
        if label:  # the call machine: name the call it ran
            name = label
            inner = _relabel(inner, label)
        return f"{name} {str(parsed.get('Status', '')).lower()}: {inner}"
    return cause


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def as_miniwdl(
    ours: dict[str, Any], failure: Failure, workflow: str | None, run_dir: str | None
) -> dict[str, Any]:
    """A failed call's error JSON as ``miniwdl run --error-json`` writes it (``{"error":
    "RunFailed", "workflow", "run", "dir", "cause": {"error": "CommandFailed", "exit_status",
    "stderr_file", "stdout_file", "run", "dir"}}``), so a script written for miniwdl reads it;
    our own fields beside, the Step Functions error name as ``wdl2sfn_error``. Other failures
    (inputs, a stopped run) keep their own error name, as miniwdl's do."""
    if failure.call is None or ours.get("status") != "FAILED":
        return ours
    command_failed = failure.error == "WdlTaskFailed" and failure.exit_status is not None
    cause: dict[str, Any] = {"error": "CommandFailed" if command_failed else failure.error}
    if command_failed:
        cause["exit_status"] = failure.exit_status
    else:
        cause["message"] = failure.message
    for key in ("stderr_file", "stdout_file"):
        if key in failure.details:
            cause[key] = failure.details[key]
    cause["run"] = "-".join([f"call-{failure.call}", *map(str, failure.shard)])
    if failure.call_dir:
        cause["dir"] = failure.call_dir
    head = {"error": "RunFailed", "workflow": workflow, "run": workflow, "dir": run_dir}
    rest = {k: v for k, v in ours.items() if k not in head}
    return {**head, "cause": cause, "wdl2sfn_error": failure.error, **rest}


def workflow_name(run_dir: Path) -> str | None:
    """The run's workflow, from its record (None when unreadable)."""
    try:
        record = json.loads((run_dir / RunStore.RECORD).read_text())
        return str(record["workflow"]["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def error_json(run_dir: Path, status: str, failure: Failure) -> dict[str, Any]:
    """The failure in the shape of miniwdl's --error-json, plus where to look."""
    summary = failure.summary()
    if status == "ABORTED":
        summary = f"run stopped: {failure.message or 'aborted'}"
    out: dict[str, Any] = {
        "error": failure.error,
        "message": failure.message,
        "summary": summary,
        "status": status,
        "dir": str(run_dir),
        "history": str(run_dir / RunStore.HISTORY),
    }
    if failure.call is not None:
        out["call"] = failure.call
        out["shard"] = failure.shard
        out["exit_status"] = failure.exit_status
        out["call_dir"] = failure.call_dir
        for key in ("stderr_file", "stdout_file", "command_file"):
            if key in failure.details:
                out[key] = failure.details[key]
    return as_miniwdl(out, failure, workflow_name(run_dir), str(run_dir))


__all__ = [
    "Failure",
    "as_miniwdl",
    "describe",
    "error_json",
    "execution_histories",
    "innermost_failure",
]
