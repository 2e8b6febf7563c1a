"""Helpers for the local backend's tests (imported by the test modules)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wdl2sfn.backends.local import LocalBatch, local_substitutions

SUBS = local_substitutions()
CPU_QUEUE = SUBS["CpuQueueArn"]
RUNNER_JOBDEF = SUBS["RunnerJobDefinitionArn"]


def job_params(
    command: list[str],
    *,
    name: str = "job",
    vcpu: str = "1",
    memory: str | None = None,
    gpu: str | None = None,
    env: dict[str, str] | None = None,
    retry: dict[str, Any] | None = None,
    timeout: float | None = None,
    queue: str = CPU_QUEUE,
    definition: str = RUNNER_JOBDEF,
) -> dict[str, Any]:
    """SubmitJob Parameters as the compiled state machine passes them."""
    reqs = [{"Type": "VCPU", "Value": vcpu}]
    if memory is not None:
        reqs.append({"Type": "MEMORY", "Value": memory})
    if gpu is not None:
        reqs.append({"Type": "GPU", "Value": gpu})
    params: dict[str, Any] = {
        "JobName": name,
        "JobQueue": queue,
        "JobDefinition": definition,
        "ContainerOverrides": {
            "Command": command,
            "Environment": [{"Name": k, "Value": v} for k, v in (env or {}).items()],
            "ResourceRequirements": reqs,
        },
    }
    if retry is not None:
        params["RetryStrategy"] = retry
    if timeout is not None:
        params["Timeout"] = {"AttemptDurationSeconds": timeout}
    return params


def error_and_cause(exc: BaseException) -> tuple[str, str]:
    """(Error, Cause) of a TaskFailure, whichever attribute names the executor chose."""
    error = getattr(exc, "error", None)
    cause = getattr(exc, "cause", None)
    if error is None:
        error, cause = (list(exc.args) + ["", ""])[:2]
    return str(error), str(cause or "")


def failed_job(exc: BaseException) -> dict[str, Any]:
    """The job description carried by a States.TaskFailed TaskFailure."""
    error, cause = error_and_cause(exc)
    assert error == "States.TaskFailed", (error, cause)
    return json.loads(cause)  # type: ignore[no-any-return]


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Background:
    """Run submit_job_sync in a thread; keep its result or exception."""

    def __init__(self, fn: Callable[[threading.Event], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.abort = threading.Event()

        def run() -> None:
            try:
                self.result = fn(self.abort)
            except BaseException as e:  # noqa: BLE001 - handed to the test
                self.error = e

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self, timeout: float = 20) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "job did not finish"


def submit_in_background(batch: LocalBatch, params: dict[str, Any]) -> Background:
    return Background(lambda abort: batch.submit_job_sync(params, abort))


def wait_for(predicate: Callable[[], bool], timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")
