"""Placeholders -> local pseudo-ARNs, and the lambda:invoke / batch:submitJob.sync handlers."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from wdl2sfn.backends.local import (
    BATCH_SUBMIT_JOB_SYNC,
    LAMBDA_INVOKE,
    PLACEHOLDERS,
    batch_handler,
    lambda_handler,
    local_handlers,
    local_substitutions,
)
from wdl2sfn.backends.local.batch import REASON_ABORTED
from wdl2sfn.backends.local.resources import BATCH_SUBMIT_JOB_SDK, function_step

from .local_batch_helpers import error_and_cause, failed_job, job_params


@dataclass
class Call:
    """Stand-in for the executor's TaskCall."""

    resource: str
    parameters: Any
    execution_name: str = "exec-1"
    state_name: str = "Prepare call-a"
    abort: threading.Event = field(default_factory=threading.Event)
    timeout_seconds: float | None = None


def test_every_placeholder_has_a_stable_local_binding():
    subs = local_substitutions()
    assert tuple(subs) == PLACEHOLDERS
    assert subs == local_substitutions()
    assert subs["PrepareFunctionArn"] == (
        "arn:aws:lambda:local:000000000000:function:wdl2sfn-prepare"
    )
    assert subs["SpotQueueArn"] == "arn:aws:batch:local:000000000000:job-queue/wdl2sfn-spot"
    assert subs["RunnerQueueArn"] == "arn:aws:batch:local:000000000000:job-queue/wdl2sfn-runner"
    assert subs["RunnerJobDefinitionArn"] == (
        "arn:aws:batch:local:000000000000:job-definition/wdl2sfn-runner:1"
    )
    assert subs["RunBucket"] == "wdl2sfn-local"


def test_substituted_queues_and_runner_job_definition_exist_in_local_batch(make_batch):
    batch = make_batch()
    subs = local_substitutions()
    [runner] = batch.describe_job_definitions(jobDefinitions=[subs["RunnerJobDefinitionArn"]])[
        "jobDefinitions"
    ]
    assert runner["containerProperties"]["image"] == "wdl2sfn-runner"
    for placeholder in ("CpuQueueArn", "SpotQueueArn", "GpuQueueArn", "RunnerQueueArn"):
        job = batch.submit_job_sync(
            job_params(["true"], queue=subs[placeholder]), threading.Event()
        )
        assert job["JobQueue"] == subs[placeholder]


@pytest.mark.parametrize(
    "name",
    [
        "arn:aws:lambda:local:000000000000:function:wdl2sfn-collect",
        "arn:aws:lambda:local:000000000000:function:wdl2sfn-collect:$LATEST",
        "wdl2sfn-collect",
        "collect",
    ],
)
def test_function_name_forms_map_to_the_step(name):
    assert function_step(name) == "collect"


def test_lambda_handler_calls_the_step_and_wraps_the_result_like_lambda_invoke():
    seen: list[tuple[str, dict]] = []

    def functions(step: str, event: dict) -> dict:
        seen.append((step, event))
        return {"cached": False, "job": {"name": "x"}}

    handler = lambda_handler(functions)
    payload = {"run": "r1", "node": "call-a", "shard": [0]}
    out = handler(
        Call(
            LAMBDA_INVOKE,
            {"FunctionName": local_substitutions()["PrepareFunctionArn"], "Payload": payload},
        )
    )
    assert seen == [("prepare", payload)]
    assert out["Payload"] == {"cached": False, "job": {"name": "x"}}
    assert out["StatusCode"] == 200
    assert out["ExecutedVersion"] == "$LATEST"
    assert out["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert out["SdkResponseMetadata"]["RequestId"]


def test_lambda_handler_reports_a_function_exception_as_a_lambda_error():
    class WdlInputError(Exception):
        pass

    def functions(step: str, event: dict) -> dict:
        raise WdlInputError(json.dumps({"message": "missing input x"}))

    handler = lambda_handler(functions)
    with pytest.raises(Exception) as info:
        handler(Call(LAMBDA_INVOKE, {"FunctionName": "wdl2sfn-init", "Payload": {}}))
    error, cause = error_and_cause(info.value)
    assert error == "WdlInputError"
    body = json.loads(cause)
    assert body["errorType"] == "WdlInputError"
    assert json.loads(body["errorMessage"]) == {"message": "missing input x"}
    assert body["requestId"]
    assert any("functions" in frame for frame in body["stackTrace"])


def test_lambda_handler_unknown_function_is_resource_not_found():
    handler = lambda_handler(lambda step, event: {})
    with pytest.raises(Exception) as info:
        handler(Call(LAMBDA_INVOKE, {"FunctionName": "wdl2sfn-nope", "Payload": {}}))
    assert error_and_cause(info.value)[0] == "Lambda.ResourceNotFoundException"


def test_lambda_handler_unserializable_result_is_a_marshal_error():
    handler = lambda_handler(lambda step, event: {"x": {1, 2}})
    with pytest.raises(Exception) as info:
        handler(Call(LAMBDA_INVOKE, {"FunctionName": "wdl2sfn-eval", "Payload": {}}))
    assert error_and_cause(info.value)[0] == "Runtime.MarshalError"


def test_lambda_handler_gives_the_function_its_own_copy_of_the_payload():
    payload = {"run": "r1"}

    def functions(step: str, event: dict) -> dict:
        event["run"] = "changed"
        return {}

    lambda_handler(functions)(Call(LAMBDA_INVOKE, {"FunctionName": "init", "Payload": payload}))
    assert payload == {"run": "r1"}


def test_batch_handler_submits_the_parameters_and_honours_abort(make_batch):
    batch = make_batch()
    handler = batch_handler(batch)
    ok = handler(Call(BATCH_SUBMIT_JOB_SYNC, job_params(["true"], name="via-handler")))
    assert ok["JobName"] == "via-handler" and ok["Status"] == "SUCCEEDED"
    call = Call(BATCH_SUBMIT_JOB_SYNC, job_params(["sleep", "30"]))
    threading.Timer(0.2, call.abort.set).start()
    t0 = time.monotonic()
    with pytest.raises(Exception) as info:
        handler(call)
    assert time.monotonic() - t0 < 5
    assert failed_job(info.value)["StatusReason"] == REASON_ABORTED


def test_local_handlers_bind_lambda_invoke_and_batch_submit_job_sync_and_sdk(make_batch):
    handlers = local_handlers(make_batch(), lambda step, event: {"step": step})
    assert set(handlers) == {
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::batch:submitJob.sync",
        "arn:aws:states:::aws-sdk:batch:submitJob",  # FSx exact joins' wait jobs
    }
    out = handlers[LAMBDA_INVOKE](Call(LAMBDA_INVOKE, {"FunctionName": "wdl2sfn-finalize"}))
    assert out["Payload"] == {"step": "finalize"}


def test_sdk_submit_job_returns_once_the_job_is_queued_and_the_job_runs_on(make_batch, tmp_path):
    """`aws-sdk:batch:submitJob` (an FSx join's wait job): SubmitJob's answer, not the job's end."""
    handler = local_handlers(make_batch(), lambda step, event: {})[BATCH_SUBMIT_JOB_SDK]
    marker = tmp_path / "ran"
    params = job_params(["bash", "-c", f"sleep 1; touch {marker}"], name="wdl2sfn-join")
    out = handler(Call(BATCH_SUBMIT_JOB_SDK, params))
    assert set(out) == {"JobArn", "JobId", "JobName"} and out["JobName"] == "wdl2sfn-join"
    assert not marker.exists()
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists()


def test_sdk_submit_job_of_an_unknown_queue_fails_the_state(make_batch):
    handler = local_handlers(make_batch(), lambda step, event: {})[BATCH_SUBMIT_JOB_SDK]
    params = job_params(["true"], queue="arn:aws:batch:local:000000000000:job-queue/nope")
    with pytest.raises(Exception) as info:
        handler(Call(BATCH_SUBMIT_JOB_SDK, params))
    assert error_and_cause(info.value)[0] == "Batch.ClientException"


def test_handler_failures_are_the_executors_task_failure(make_batch):
    errors = pytest.importorskip("wdl2sfn.statemachine.errors")
    handler = batch_handler(make_batch())
    with pytest.raises(errors.TaskFailure):
        handler(Call(BATCH_SUBMIT_JOB_SYNC, job_params(["false"])))
