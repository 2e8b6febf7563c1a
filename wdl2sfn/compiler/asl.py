"""Small builders for Amazon States Language (JSONPath) states.

The compiler emits ASL through these helpers rather than writing dict literals inline, so every
state of a given kind has the same shape (retries, result handling) and state names stay unique
across the whole definition, as Step Functions requires (inside Map and Parallel too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_INVOKE_WAIT = "arn:aws:states:::lambda:invoke.waitForTaskToken"
BATCH_SUBMIT_SYNC = "arn:aws:states:::batch:submitJob.sync"
S3_GET_OBJECT = "arn:aws:states:::s3:getObject"
S3_PUT_OBJECT = "arn:aws:states:::s3:putObject"
START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2"

MAX_STATE_NAME = 80

LAMBDA_RETRY: dict[str, Any] = {
    "ErrorEquals": [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ],
    # IntervalSeconds left at its default, 1 s (BackoffRate 2.0, FULL jitter: up to 1, 2, 4, 8,
    # 16 s before attempts 2-6); every Lambda Task carries this retrier, so each field costs bytes
    "MaxAttempts": 6,
    "JitterStrategy": "FULL",
}
#: prepare's: LAMBDA_RETRY, and a timed-out invocation (a large input downloading, or a shard
#: waiting for another's download: task_runner/download_lock.py) tried again as well. "Unhandled
#: errors in Lambda are reported as Lambda.Unknown in the error output. These include
#: out-of-memory errors and function timeouts" (Step Functions developer guide, "Handle Lambda
#: service exceptions", bp-lambda-serviceexception). prepare is idempotent and reuses what the
#: timed-out invocation finished. One entry, not two: every call has a prepare state
#: (tests/compiler/test_split.py's per-call budget).
PREPARE_RETRY: dict[str, Any] = {
    **LAMBDA_RETRY,
    "ErrorEquals": [*LAMBDA_RETRY["ErrorEquals"], "Lambda.Unknown"],
}
BATCH_RETRY: dict[str, Any] = {
    "ErrorEquals": [
        "Batch.AWSBatchException",
        "Batch.ServerException",
        "Batch.TooManyRequestsException",
    ],
    "IntervalSeconds": 5,
    "MaxAttempts": 8,
    "JitterStrategy": "FULL",
}
STATES_RETRY: dict[str, Any] = {
    "ErrorEquals": [
        "StepFunctions.ExecutionLimitExceededException",
        "StepFunctions.AWSStepFunctionsException",
    ],
    "IntervalSeconds": 5,
    "MaxAttempts": 6,
    "JitterStrategy": "FULL",
}


@dataclass
class StateNames:
    """Hands out state names that are unique, readable and at most 80 characters."""

    used: set[str] = field(default_factory=set)

    def claim(self, wanted: str) -> str:
        """`wanted` if free; a name over 80 characters ends at a word boundary with "…", and a
        taken one gets " #2", " #3"... (a last resort: the compiler's labels are unique and fit,
        and tests/compiler/test_name_shapes.py checks that no counter is left)."""
        base = fit_name(_clean_name(wanted), MAX_STATE_NAME)
        name, n = base, 1
        while name in self.used:
            n += 1
            suffix = f" #{n}"
            name = fit_name(base, MAX_STATE_NAME - len(suffix)) + suffix
        self.used.add(name)
        return name

    def claim_first(self, options: Iterable[str]) -> str:
        """The first free name of `options` (best first), else the first one claimed."""
        first = None
        for wanted in options:
            first = first or wanted
            name = fit_name(_clean_name(wanted), MAX_STATE_NAME)
            if name not in self.used:
                self.used.add(name)
                return name
        return self.claim(first or "state")


def fit_name(name: str, limit: int) -> str:
    """`name` within `limit` characters, cut after a word (space, '.', ':') rather than in one."""
    if len(name) <= limit:
        return name
    room = name[: limit - 1]
    cut = max(room.rfind(c) for c in " .:_")
    if cut >= limit // 2:
        room = room[:cut]
    return room.rstrip(" .:_") + "…"


def _clean_name(name: str) -> str:
    """State names may not contain control characters; keep everything else readable."""
    if name.isprintable():  # nearly always: no character-by-character copy
        return name.strip() or "state"
    return "".join(c if c.isprintable() else " " for c in name).strip() or "state"


@dataclass
class Graph:
    """A StartAt + States pair under construction (a whole machine, a branch or a Map processor)."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    start: str | None = None

    def add(self, name: str, state: dict[str, Any]) -> str:
        assert name not in self.states, name
        self.states[name] = state
        return name

    def to_json(self) -> dict[str, Any]:
        assert self.start is not None
        return {"StartAt": self.start, "States": in_flow_order(self.states, self.start)}


def successors(state: dict[str, Any]) -> list[str]:
    """Names a state can move to: Next, Choice rules and Default, Catch targets."""
    out = [state[k] for k in ("Next", "Default") if k in state]
    out += [rule["Next"] for rule in state.get("Choices", [])]
    out += [c["Next"] for c in state.get("Catch", [])]
    return out


def in_flow_order(states: dict[str, dict[str, Any]], start: str) -> dict[str, dict[str, Any]]:
    """The states in the order a reader follows them from StartAt (the builders emit them
    last-first); JSON object order has no meaning to Step Functions, only to people."""
    order: list[str] = []
    seen: set[str] = set()
    stack = [start]
    while stack:  # depth first, the main path (Next/Default) before side paths
        name = stack.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        order.append(name)
        stack.extend(reversed(successors(states[name])))
    order += [n for n in states if n not in seen]
    return {n: states[n] for n in order}


def link(state: dict[str, Any], next_name: str | None) -> dict[str, Any]:
    """Set Next, or End when nothing follows."""
    if next_name is None:
        state["End"] = True
    else:
        state["Next"] = next_name
    return state


def lambda_task(
    function_placeholder: str,
    payload: dict[str, Any] | str,
    *,
    result_selector: dict[str, Any] | None,
    result_path: str | None,
) -> dict[str, Any]:
    """A `lambda:invoke` Task with the standard Lambda retry policy."""
    state: dict[str, Any] = {"Type": "Task", "Resource": LAMBDA_INVOKE}
    function = "${" + function_placeholder + "}"
    if isinstance(payload, str):  # a path: the payload is an object the state data holds
        state["Parameters"] = {"FunctionName": function, "Payload.$": payload}
    else:
        state["Parameters"] = {"FunctionName": function, "Payload": payload}
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    state["ResultPath"] = result_path
    state["Retry"] = [dict(LAMBDA_RETRY)]
    return state


def batch_job_task(
    job_path: str, *, result_path: str | None, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A `batch:submitJob.sync` Task whose job comes from a step's JOB at `job_path`: name,
    queue, definition, and the ContainerOverrides object prepared whole (PascalCase). Retry
    strategy and timeout are the job definition's own unless `settings` (literal SubmitJob
    parameters such as RetryStrategy) say otherwise."""
    return {
        "Type": "Task",
        "Resource": BATCH_SUBMIT_SYNC,
        "Parameters": {
            "JobName.$": f"{job_path}.name",
            "JobQueue.$": f"{job_path}.queue",
            "JobDefinition.$": f"{job_path}.definition",
            "ContainerOverrides.$": f"{job_path}.overrides",
            **(settings or {}),
        },
        **({} if result_path is None else {"ResultSelector": {"JobId.$": "$.JobId"}}),
        "ResultPath": result_path,
        "Retry": [dict(BATCH_RETRY)],
    }


def choice_bool(variable: str, when_true: str, default: str) -> dict[str, Any]:
    """A Choice on one boolean field of the payload."""
    state: dict[str, Any] = {"Type": "Choice"}
    state["Choices"] = [{"Variable": variable, "BooleanEquals": True, "Next": when_true}]
    state["Default"] = default
    return state


def succeed(*, output_path: str | None = "$") -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Succeed"}
    if output_path != "$":
        state["OutputPath"] = output_path
    return state


def definition_text(definition: dict[str, Any]) -> str:
    """The definition as deployed (compact JSON): what `compile -o` writes and `deploy` sends."""
    return json.dumps(definition, separators=(",", ":"), ensure_ascii=False)


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
ARN_BYTES = 112  # a Lambda function ARN with a 64-character name (queues, job definitions: less)
MACHINE_ARN_BYTES = 131  # arn:aws:states:<region>:<account>:stateMachine:<80 characters>
BUCKET_BYTES = 63


def deployed_bytes_bound(definition: dict[str, Any] | str) -> int:
    """An upper bound of the definition's size once CloudFormation (or `deploy`) has replaced
    every `${Placeholder}` by its ARN or bucket name: what Step Functions holds to 1 MB."""
    text = definition if isinstance(definition, str) else definition_text(definition)
    size = len(text.encode())
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        value = BUCKET_BYTES if name == "RunBucket" else ARN_BYTES
        if name.startswith("StateMachineArn_"):
            value = MACHINE_ARN_BYTES
        size += max(0, value - len(match.group(0)))
    return size


def definition_bytes(definition: dict[str, Any]) -> int:
    """Size as Step Functions measures it: the UTF-8 bytes of the deployed JSON text."""
    return len(definition_text(definition).encode())
