"""The Batch API as Step Functions shows it: ARNs, status reasons, errors and key cases.

Everything the other parts of the local Batch say to a caller is named here, so a reader can
compare it with AWS's documentation in one place.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from typing import Any

REGION = "local"
ACCOUNT = "000000000000"
ARN_PREFIX = f"arn:aws:batch:{REGION}:{ACCOUNT}"

#: queues a LocalBatch accepts unless told otherwise (docs/design.md, "Placeholders")
DEFAULT_QUEUES: tuple[str, ...] = ("wdl2sfn-cpu", "wdl2sfn-spot", "wdl2sfn-gpu", "wdl2sfn-runner")
#: the runner job definition every LocalBatch registers at construction (revision 1)
RUNNER_JOB_DEFINITION = "wdl2sfn-runner"
RUNNER_IMAGE = "wdl2sfn-runner"
#: job names and job definition names: up to 128 letters, numbers, hyphens and underscores
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}"

REASON_EXITED = "Essential container in task exited"
REASON_TIMEOUT = "Job attempt duration exceeded timeout"
REASON_ABORTED = "Job terminated: the managing Task state was aborted"
REASON_SHUTDOWN = "Job terminated: the local Batch scheduler shut down"
REASON_START_FAILED = "Task failed to start"

# map-typed fields of the Batch API whose keys are user data, not member names
_MAP_FIELDS = frozenset({"parameters", "tags", "Parameters", "Tags"})


# TaskFailure is owned by wdl2sfn.statemachine.executor; imported lazily so the local Batch works
# (and its tests pass) whether or not that module has landed.


class _FallbackTaskFailure(Exception):
    """Stand-in with the executor's documented constructor, used only if it cannot be imported."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(error, cause)
        self.error = error
        self.cause = cause


def task_failure_class() -> type[Exception]:
    """The executor's TaskFailure class (or a compatible stand-in if it does not exist yet)."""
    try:
        from wdl2sfn.statemachine.executor import TaskFailure
    except ImportError:
        try:  # where the executor's package defines it
            from wdl2sfn.statemachine.errors import TaskFailure
        except ImportError:
            return _FallbackTaskFailure
    return TaskFailure


def task_failure(error: str, cause: str) -> Exception:
    return task_failure_class()(error, cause)


def client_exception(message: str) -> Exception:
    """A Batch API error, reported the way Step Functions reports one (error name Batch.<Code>)."""
    request_id = str(uuid.uuid4())
    cause = (
        f"Error executing request, Exception : {message}, RequestId: {request_id} "
        f"(Service: AWSBatch; Status Code: 400; Error Code: ClientException; "
        f"Request ID: {request_id}; Proxy: null)"
    )
    return task_failure("Batch.ClientException", cause)


class BatchClientError(ValueError):
    """Raised by the boto3-shaped methods (register/describe) for invalid requests."""


def _recase(value: Any, first: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            nk = first(k[:1]) + k[1:] if isinstance(k, str) else k
            out[nk] = copy.deepcopy(v) if k in _MAP_FIELDS else _recase(v, first)
        return out
    if isinstance(value, list):
        return [_recase(v, first) for v in value]
    return value


def to_pascal_case(value: Any) -> Any:
    """camelCase Batch API shape -> Step Functions' PascalCase (map fields' keys untouched)."""
    return _recase(value, str.upper)


def to_camel_case(value: Any) -> Any:
    """PascalCase Step Functions parameters -> boto3's camelCase (map fields' keys untouched)."""
    return _recase(value, str.lower)


def now_ms() -> int:
    """Batch's timestamps: milliseconds since the epoch."""
    return int(time.time() * 1000)
