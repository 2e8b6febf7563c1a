"""How a run-time step (init, prepare, collect, eval, finalize) is invoked from the state machine.

* EFS (default): one `lambda:invoke` Task; the function mounts EFS.
* FSx for Lustre: Lambda cannot mount FSx, so the step runs as a Batch job on the runner queue
  (`python3 -m wdl2sfn.task_runner STEP --field KEY JSON ... --result-key KEY`). A Batch job
  returns no data, so the step writes its result to `${RunBucket}` and two more states bring it
  back: an `s3:getObject` SDK call, and a Pass that reshapes it like the Lambda result would be.
* An exact join's wait step in FSx mode: `aws-sdk:batch:submitJob.waitForTaskToken` (AWS SDK
  integrations take the callback pattern; the optimized `batch:submitJob` does not), a runner job
  given `$$.Task.Token` that registers the token in the store (`task_runner/joins.py`); the state
  ends when the token is answered (SendTaskSuccess by the wait job or by the last release), or
  fails when the runner answers SendTaskFailure (its step raised).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..contract import (
    JOIN_TOKEN_PARAMETER,
    RUN_BUCKET,
    RUNNER_JOB_DEFINITION,
    RUNNER_QUEUE,
    STEPS_PREFIX,
    WAIT_JOB_NAME,
    WAIT_TIMEOUT_S,
    ref,
)
from . import asl

S3_GET_OBJECT_SDK = "arn:aws:states:::aws-sdk:s3:getObject"
BATCH_SUBMIT_WAIT_SDK = "arn:aws:states:::aws-sdk:batch:submitJob.waitForTaskToken"
S3_PUT_OBJECT_SDK = "arn:aws:states:::aws-sdk:s3:putObject"
S3_RETRY: dict[str, Any] = {
    "ErrorEquals": ["S3.S3Exception", "S3.SdkClientException"],  # IntervalSeconds: 1, the default
    "MaxAttempts": 5,
    "JitterStrategy": "FULL",
}
# init's execution input goes through the bucket: a SubmitJob request holds at most 30 KiB, an
# execution input up to 256 KiB
INPUT_KEY = f"States.Format('{STEPS_PREFIX}/{{}}/input.json', $$.Execution.Name)"
# the same key as a JSON string, for `--field input_key JSON` (execution names need no escaping)
INPUT_KEY_JSON = f"States.Format('\"{STEPS_PREFIX}/{{}}/input.json\"', $$.Execution.Name)"


def intrinsic_literal(text: str) -> str:
    """A string literal inside an intrinsic function call (escape ' { } and backslash)."""
    escaped = "".join("\\" + c if c in "'{}\\" else c for c in text)
    return "'" + _PLACEHOLDER.sub(r"${\1}", escaped) + "'"


# DefinitionSubstitutions placeholders stay as written: they are replaced before the intrinsic runs
_PLACEHOLDER = re.compile(r"\$\\\{([A-Za-z0-9_]+)\\\}")


def field_args(payload: dict[str, Any] | str) -> list[str]:
    """Intrinsic arguments `'--field', 'KEY', <JSON of the value>` for each payload entry, or
    `'--event', <JSON>` for a payload the state data holds whole (a path)."""
    if isinstance(payload, str):
        return ["'--event'", f"States.JsonToString({payload})"]
    args: list[str] = []
    for key, value in payload.items():
        if key.endswith(".$"):
            name = key[:-2]
            expr = value if value.startswith("States.") else f"States.JsonToString({value})"
        else:
            name, expr = key, intrinsic_literal(json.dumps(value, separators=(",", ":")))
        args += ["'--field'", intrinsic_literal(name), expr]
    return args


def result_key_expr(step: str, payload: dict[str, Any] | str) -> str:
    """Where the step leaves its result: unique per execution, step, node and shard (a
    payload given whole is the call machine's: one call and shard per execution)."""
    if isinstance(payload, str) or "node" not in payload and "node.$" not in payload:
        return f"States.Format('{STEPS_PREFIX}/{{}}/{step}.json', $$.Execution.Name)"
    node = payload.get("node.$") or intrinsic_literal(str(payload.get("node", "")))
    shard = "States.JsonToString($.shard)" if "shard.$" in payload else "'-'"
    return (
        f"States.Format('{STEPS_PREFIX}/{{}}/{step}/{{}}/{{}}.json', $$.Execution.Name, "
        f"{node}, {shard})"
    )


def fsx_states(
    name: str,
    step: str,
    payload: dict[str, Any] | str,
    selector: dict[str, Any] | None,
    result_path: str | None,
) -> list[tuple[str, dict[str, Any]]]:
    """The 1-4 states (suffixes of `name`) that run a step as a runner Batch job: the job, then
    (for a result someone reads) the s3:getObject of its result and, unless the getObject's
    ResultSelector can place it directly, a Pass reshaping it."""
    if isinstance(payload, dict) and "input.$" in payload:
        # init: the execution input, by way of the bucket
        body = payload["input.$"]
        payload = {k: v for k, v in payload.items() if k != "input.$"}
        payload["input_key.$"] = INPUT_KEY_JSON
        save = {
            "Type": "Task",
            "Resource": S3_PUT_OBJECT_SDK,
            "Parameters": {"Bucket": ref(RUN_BUCKET), "Key.$": INPUT_KEY, "Body.$": body},
            "ResultPath": None,
            "Retry": [dict(S3_RETRY)],
        }
        return [("", save), *[(f": step{s}", st) for s, st in _job_states(step, payload,
                                                                           selector, result_path)]]  # fmt: skip
    return _job_states(step, payload, selector, result_path)


def fsx_wait_state(payload: dict[str, Any]) -> dict[str, Any]:
    """An exact join's wait as a runner job holding the task token (no result to read back:
    the answer to the token is the state's output). The token is also a SubmitJob parameter:
    a wait job that fails before Python runs (image pull, lost host, out of memory) cannot
    answer it, so the stack's rule on Batch's FAILED event does, from the event's
    ``parameters``. ``TimeoutSeconds`` bounds the rest (``WAIT_TIMEOUT_S``). No
    ``HeartbeatSeconds``: once registered, nothing runs until the release answers, so nothing
    could beat (a runner job kept alive to beat would hold a runner vCPU per waiting unit)."""
    command = ", ".join(["'python3'", "'-m'", "'wdl2sfn.task_runner'", "'eval'",
                         *field_args(payload)])  # fmt: skip
    return {
        "Type": "Task",
        "Resource": BATCH_SUBMIT_WAIT_SDK,
        "Parameters": {
            "JobName": WAIT_JOB_NAME,
            "JobQueue": ref(RUNNER_QUEUE),
            "JobDefinition": ref(RUNNER_JOB_DEFINITION),
            "Parameters": {f"{JOIN_TOKEN_PARAMETER}.$": "$$.Task.Token"},
            "ContainerOverrides": {"Command.$": f"States.Array({command})"},
        },
        "TimeoutSeconds": WAIT_TIMEOUT_S,
        "ResultPath": None,
        "Retry": [dict(asl.BATCH_RETRY)],
    }


def _job_states(
    step: str,
    payload: dict[str, Any] | str,
    selector: dict[str, Any] | None,
    result_path: str | None,
) -> list[tuple[str, dict[str, Any]]]:
    key = result_key_expr(step, payload)
    # a result nobody reads back (collect, a release) is not written to the bucket
    saved = ["'--result-key'", key] if selector is not None else []
    command = ", ".join(
        ["'python3'", "'-m'", "'wdl2sfn.task_runner'", intrinsic_literal(step),
         *field_args(payload), *saved]
    )  # fmt: skip
    job: dict[str, Any] = {
        "Type": "Task",
        "Resource": asl.BATCH_SUBMIT_SYNC,
        "Parameters": {
            "JobName": f"wdl2sfn-{step}",
            "JobQueue": ref(RUNNER_QUEUE),
            "JobDefinition": ref(RUNNER_JOB_DEFINITION),
            "ContainerOverrides": {"Command.$": f"States.Array({command})"},
        },
        "ResultPath": None,
        "Retry": [dict(asl.BATCH_RETRY)],
    }
    if selector is None:
        return [("", job)]
    get: dict[str, Any] = {
        "Type": "Task",
        "Resource": S3_GET_OBJECT_SDK,
        "Parameters": {"Bucket": ref(RUN_BUCKET), "Key.$": key},
        "ResultSelector": {"Payload.$": "States.StringToJson($.Body)"},
        "ResultPath": "$.step_result",
        "Retry": [dict(S3_RETRY)],
    }
    if selector and all(v == "$.Payload" for v in selector.values()):
        # the whole result under a key (prepare's `job`): the read selects it itself, no Pass
        get["ResultSelector"] = {k: "States.StringToJson($.Body)" for k in selector}
        get["ResultPath"] = result_path
        return [("", job), (": result", get)]
    reshape = {
        "Type": "Pass",
        "Parameters": _rebase(selector, "$.Payload", "$.step_result.Payload"),
        "ResultPath": result_path,
    }
    return [("", job), (": result", get), (": read", reshape)]


def _rebase(selector: Any, old: str, new: str) -> Any:
    if isinstance(selector, dict):
        return {
            k: (_rebase(v, old, new) if not isinstance(v, str) else v.replace(old, new, 1))
            for k, v in selector.items()
        }
    return selector
