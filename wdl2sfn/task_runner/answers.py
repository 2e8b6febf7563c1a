"""Answering a task token (SendTaskSuccess / SendTaskFailure) from a run-time step.

Three channels, the same answer:

* in-process (the local backend's Lambda steps): the executor's token registry itself;
* a local runner job (a host subprocess of the local Batch, `WDL2SFN_CALLBACKS=store`): an answer
  file `<run>/_callbacks/<token>.json` that the local backend relays to its executor (the job
  has no Step Functions endpoint to call);
* on AWS (Lambda or a runner Batch job), and under the rehearsal: the Step Functions API.

A token whose waiting state is gone (the execution stopped, a sibling branch failed) is not an
error: there is nobody left to answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..contract.settings import Settings, load_settings
from .atomic import write_bytes_atomic
from .store import RunStore

CALLBACKS_ENV = Settings.variable("callbacks")  # the local backend sets it for runner jobs
CALLBACKS_DIR = RunStore.CALLBACKS
CAUSE_LIMIT = 32_768  # SendTaskFailure's cause, in characters

#: answer(token, output JSON or None, (error, cause) or None)
Answer = Callable[[str, str | None, tuple[str, str] | None], None]


def answerer(settings: Any, run_dir: Path) -> Answer:
    """How this process answers the tokens of the run in `run_dir`."""
    tokens = getattr(settings, "task_tokens", None)
    if tokens is not None:
        return registry_answer(tokens)
    if load_settings().callbacks == "store":
        return _answer_file(run_dir / CALLBACKS_DIR)
    return _step_functions()


def registry_answer(tokens: Any) -> Answer:
    """Answers given straight to an executor's token registry (in-process steps, and the
    local backend relaying a runner job's answer file)."""

    def answer(token: str, output: str | None, error: tuple[str, str] | None) -> None:
        try:
            if error is None:
                tokens.send_success(token, output or "{}")
            else:
                tokens.send_failure(token, *error)
        except Exception as exn:  # the executor's InvalidToken: the waiting state is gone
            if type(exn).__name__ != "InvalidToken":
                raise

    return answer


def _answer_file(folder: Path) -> Answer:
    def answer(token: str, output: str | None, error: tuple[str, str] | None) -> None:
        body = {"token": token, "output": output} if error is None else {
            "token": token, "error": error[0], "cause": error[1]}  # fmt: skip
        write_bytes_atomic(folder / f"{token}.json", json.dumps(body).encode())

    return answer


def _step_functions() -> Answer:
    import boto3

    client = boto3.client("stepfunctions")

    def answer(token: str, output: str | None, error: tuple[str, str] | None) -> None:
        try:
            if error is None:
                client.send_task_success(taskToken=token, output=output or "{}")
            else:
                client.send_task_failure(
                    taskToken=token, error=error[0][:256], cause=error[1][:CAUSE_LIMIT]
                )
        except (client.exceptions.TaskTimedOut, client.exceptions.InvalidToken):
            pass  # the waiting state is gone (stopped, or a sibling failed): nothing to answer

    return answer


def read_answer_file(path: Path) -> dict[str, Any] | None:
    """An answer file the local backend relays (None while it is being written)."""
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (FileNotFoundError, json.JSONDecodeError):
        return None
