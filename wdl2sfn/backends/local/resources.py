"""Binding of the compiled state machine's resource placeholders to local handlers.

The compiled ASL names AWS resources only through DefinitionSubstitutions placeholders
(``${PrepareFunctionArn}``, ``${CpuQueueArn}``, ...). Locally each placeholder becomes a stable
pseudo-ARN (docs/design.md, "Placeholders"), and the Task states' two service integrations are
served by local handlers that return exactly what Step Functions returns on AWS:

- ``arn:aws:states:::lambda:invoke``: the task_runner step named by the function ARN, called
  in-process; the result is the Lambda integration's output ({"ExecutedVersion", "Payload",
  "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"}); a function error becomes
  Error = the exception's class name (the Lambda ``errorType``) and
  Cause = {"errorMessage", "errorType", "requestId", "stackTrace"} as JSON, as Step Functions
  reports an unhandled Lambda (Python runtime) exception.
- ``arn:aws:states:::batch:submitJob.sync``: the LocalBatch.
- ``arn:aws:states:::aws-sdk:batch:submitJob`` (FSx exact joins use it with
  ``.waitForTaskToken``): SubmitJob alone; the job runs on in the background and its end does
  not end the state, as on AWS.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import threading
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from wdl2sfn import contract
from wdl2sfn.backends.local.batch import (
    ACCOUNT,
    ARN_PREFIX,
    REGION,
    RUNNER_JOB_DEFINITION,
    LocalBatch,
    task_failure,
)

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
BATCH_SUBMIT_JOB_SYNC = "arn:aws:states:::batch:submitJob.sync"

PLACEHOLDERS: tuple[str, ...] = contract.PLACEHOLDERS

#: the task_runner steps invoked through lambda:invoke
STEPS: tuple[str, ...] = contract.FUNCTION_STEPS
FUNCTION_PREFIX = "wdl2sfn-"
LAMBDA_ARN_PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
RUN_BUCKET = "wdl2sfn-local"


class TaskCallLike(Protocol):
    """What a handler reads of the executor's TaskCall (wdl2sfn.statemachine.executor)."""

    resource: str
    parameters: Any
    execution_name: str
    state_name: str
    abort: Any  # threading.Event
    timeout_seconds: float | None


ResourceHandler = Callable[[Any], Any]


def local_substitutions() -> dict[str, str]:
    """Placeholder -> the stable local pseudo-ARN (or bucket name) it binds to."""
    subs = {
        contract.function_placeholder(step): f"{LAMBDA_ARN_PREFIX}{FUNCTION_PREFIX}{step}"
        for step in STEPS
    }
    for kind in contract.QUEUE_KINDS:
        subs[contract.queue_placeholder(kind)] = f"{ARN_PREFIX}:job-queue/wdl2sfn-{kind}"
    # LocalBatch registers this job definition (image "wdl2sfn-runner") at construction
    subs[contract.RUNNER_JOB_DEFINITION] = f"{ARN_PREFIX}:job-definition/{RUNNER_JOB_DEFINITION}:1"
    subs[contract.RUN_BUCKET] = RUN_BUCKET
    machines = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
    subs[contract.CALL_MACHINE] = machines + contract.CALL_MACHINE_NAME
    subs[contract.FINISH_MACHINE] = machines + contract.FINISH_MACHINE_NAME
    subs[contract.START_MACHINE] = machines + contract.START_MACHINE_NAME
    assert set(subs) == set(PLACEHOLDERS)
    return {p: subs[p] for p in PLACEHOLDERS}


def local_stack_arns() -> tuple[dict[str, str], dict[str, str]]:
    """(queues, runner) as the stack's Lambda functions have them (WDL2SFN_QUEUES,
    WDL2SFN_RUNNER), bound to the local pseudo-ARNs: the in-process steps' Settings."""
    subs = local_substitutions()
    queues = {kind: subs[contract.queue_placeholder(kind)] for kind in ("cpu", "spot", "gpu")}
    runner = {
        "queue": subs[contract.queue_placeholder("runner")],
        "definition": subs[contract.RUNNER_JOB_DEFINITION],
    }
    return queues, runner


def function_step(function_name: str) -> str:
    """The task_runner step a FunctionName designates: a full or partial Lambda ARN (optionally
    with a :qualifier) or a plain name; ``wdl2sfn-prepare`` -> ``prepare``."""
    name = function_name
    if ":function:" in name:
        name = name.split(":function:", 1)[1].split(":", 1)[0]
    if name.startswith(FUNCTION_PREFIX):
        name = name[len(FUNCTION_PREFIX) :]
    return name


def _lambda_error(function_name: str, code: str, message: str) -> Exception:
    """A Lambda API error as Step Functions reports it (Error "Lambda.<Code>")."""
    request_id = str(uuid.uuid4())
    return task_failure(
        f"Lambda.{code}",
        f"{message} (Service: AWSLambda; Status Code: 404; Error Code: {code}; "
        f"Request ID: {request_id}; Proxy: null)",
    )


def lambda_function_error(payload: dict[str, Any], request_id: str) -> Exception:
    """A function's error payload as Step Functions reports it: Error = errorType, Cause = the
    payload JSON (with the request id)."""
    cause = {
        "errorMessage": payload.get("errorMessage", ""),
        "errorType": payload.get("errorType", "Error"),
        "requestId": request_id,
        "stackTrace": payload.get("stackTrace", []),
    }
    return task_failure(str(cause["errorType"]), json.dumps(cause, separators=(",", ":")))


def lambda_timeout_error(message: str, request_id: str) -> Exception:
    """A function that ran past its Timeout, as Step Functions reports it: "Unhandled errors in
    Lambda are reported as Lambda.Unknown in the error output. These include out-of-memory errors
    and function timeouts" (Step Functions developer guide, bp-lambda-serviceexception); the cause
    says Lambda returned no error type, with the payload it did return."""
    payload = json.dumps({"errorMessage": f"{request_id} {message}"}, separators=(",", ":"))
    cause = (
        "The cause could not be determined because Lambda did not return an error type. "
        f"Returned payload: {payload}"
    )
    return task_failure("Lambda.Unknown", cause)


def _function_error(e: BaseException, request_id: str) -> Exception:
    """An exception raised by the function, shaped as Step Functions reports an unhandled
    exception of a Python Lambda function: Error = errorType, Cause = the error payload JSON."""
    error_type = type(e).__name__
    cause = {
        "errorMessage": str(e),
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(e.__traceback__),
    }
    return task_failure(error_type, json.dumps(cause, separators=(",", ":")))


def invoke_output(payload: Any, request_id: str) -> dict[str, Any]:
    """The lambda:invoke integration's output around a function's response."""
    body = json.dumps(payload, separators=(",", ":"))
    date = email.utils.formatdate(usegmt=True)
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(body.encode())),
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    }
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


def lambda_handler(functions: Callable[[str, dict[str, Any]], Any]) -> ResourceHandler:
    """Handler for ``arn:aws:states:::lambda:invoke``: calls ``functions(step, Payload)``."""

    def handle(call: TaskCallLike) -> dict[str, Any]:
        params = call.parameters if isinstance(call.parameters, dict) else {}
        function_name = params.get("FunctionName")
        if not isinstance(function_name, str) or not function_name:
            raise _lambda_error(
                str(function_name), "InvalidParameterValueException", "FunctionName is required"
            )
        step = function_step(function_name)
        if step not in STEPS:
            raise _lambda_error(
                function_name,
                "ResourceNotFoundException",
                f"Function not found: {function_name} (local functions: "
                f"{', '.join(FUNCTION_PREFIX + s for s in STEPS)})",
            )
        payload = params.get("Payload", {})
        if payload is None:
            payload = {}
        request_id = str(uuid.uuid4())
        # the event a Lambda function receives is the JSON of Payload: pass a fresh copy
        event = json.loads(json.dumps(payload))
        try:
            result = functions(step, event)
        except Exception as e:
            raise _function_error(e, request_id) from e
        try:
            # what comes back is the function's JSON response, as from a real invocation
            result = json.loads(json.dumps(result))
        except (TypeError, ValueError) as e:
            raise task_failure(
                "Runtime.MarshalError",
                json.dumps(
                    {
                        "errorMessage": f"Unable to marshal response: {e}",
                        "errorType": "Runtime.MarshalError",
                        "requestId": request_id,
                        "stackTrace": [],
                    },
                    separators=(",", ":"),
                ),
            ) from e
        return invoke_output(result, request_id)

    return handle


def batch_handler(batch: LocalBatch) -> ResourceHandler:
    """Handler for ``arn:aws:states:::batch:submitJob.sync``."""

    def handle(call: TaskCallLike) -> dict[str, Any]:
        params = call.parameters if isinstance(call.parameters, dict) else {}
        return batch.submit_job_sync(
            params, call.abort, on_submitted=getattr(call, "submitted", None)
        )

    return handle


BATCH_SUBMIT_JOB_SDK = "arn:aws:states:::aws-sdk:batch:submitJob"


def batch_submit_handler(batch: LocalBatch) -> ResourceHandler:
    """``aws-sdk:batch:submitJob``: returns SubmitJob's response (JobArn, JobId, JobName) once
    the job is queued; an invalid request fails the state (``Batch.ClientException``)."""

    def handle(call: TaskCallLike) -> dict[str, Any]:
        params = call.parameters if isinstance(call.parameters, dict) else {}
        submitted: dict[str, Any] = {}
        queued = threading.Event()
        failed: list[BaseException] = []

        def on_submitted(response: dict[str, Any]) -> None:
            submitted.update(response)
            queued.set()

        def run() -> None:
            try:  # nobody aborts it: Step Functions does not stop a job it only submitted
                batch.submit_job_sync(params, threading.Event(), on_submitted=on_submitted)
            except Exception as exn:
                if not queued.is_set():
                    failed.append(exn)
                else:
                    logging.getLogger(__name__).info("submitted job ended: %s", exn)
            finally:
                queued.set()

        threading.Thread(target=run, daemon=True, name="batch-submit").start()
        queued.wait()
        if failed:
            raise failed[0]
        return submitted

    return handle


S3_GET_OBJECT_SDK = "arn:aws:states:::aws-sdk:s3:getObject"


def s3_get_object_handler(buckets: dict[str, Any]) -> ResourceHandler:
    """The `aws-sdk:s3:getObject` integration over local folders (bucket -> folder).

    Returns the SDK response's shape with `Body` as text, as Step Functions does for text objects;
    a missing key fails with `S3.NoSuchKeyException`.
    """

    def handle(call: Any) -> Any:
        params = call.parameters
        from wdl2sfn.statemachine.store import FolderObjectStore

        bucket = params.get("Bucket", "")
        path = None
        if bucket in buckets:
            with contextlib.suppress(KeyError, ValueError):
                path = FolderObjectStore(Path("/nonexistent"), buckets).path(
                    bucket, params.get("Key", "")
                )
        if path is None or not path.is_file():
            raise task_failure(
                "S3.NoSuchKeyException", f"The specified key does not exist: {params.get('Key')}"
            )
        body = path.read_text()
        return {
            "Body": body,
            "ContentLength": len(body.encode()),
            "ContentType": "application/json",
        }

    return handle


S3_PUT_OBJECT_SDK = "arn:aws:states:::aws-sdk:s3:putObject"


def s3_put_object_handler(buckets: dict[str, Any]) -> ResourceHandler:
    """The `aws-sdk:s3:putObject` integration over local folders: a JSON Body is written as JSON
    text, as Step Functions serializes it."""

    def handle(call: Any) -> Any:
        from wdl2sfn.statemachine.store import FolderObjectStore

        params = call.parameters
        body = params.get("Body", "")
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        FolderObjectStore(Path("/nonexistent"), buckets).put_object(
            params.get("Bucket", ""), params.get("Key", ""), text.encode()
        )
        return {"ETag": f'"{uuid.uuid4().hex}"'}

    return handle


def local_handlers(
    batch: LocalBatch,
    functions: Callable[[str, dict[str, Any]], Any],
    buckets: dict[str, Any] | None = None,
) -> dict[str, ResourceHandler]:
    """Resource -> handler, for the executor."""
    handlers = {
        LAMBDA_INVOKE: lambda_handler(functions),
        BATCH_SUBMIT_JOB_SYNC: batch_handler(batch),
        BATCH_SUBMIT_JOB_SDK: batch_submit_handler(batch),
    }
    if buckets:
        handlers[S3_GET_OBJECT_SDK] = s3_get_object_handler(buckets)
        handlers[S3_PUT_OBJECT_SDK] = s3_put_object_handler(buckets)
    return handlers
