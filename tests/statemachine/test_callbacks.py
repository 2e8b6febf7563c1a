"""`.waitForTaskToken`: a Task waits for SendTaskSuccess/Failure on the token it handed out."""

from __future__ import annotations

import threading
import time
from typing import Any

from wdl2sfn.statemachine.executor import Executor

from .conftest import machine, types_of

INVOKE = "arn:aws:states:::lambda:invoke"
WAIT = INVOKE + ".waitForTaskToken"


def waiting(**extra: Any) -> dict[str, Any]:
    return machine(
        (
            "W",
            {
                "Type": "Task",
                "Resource": WAIT,
                "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
                **extra,
            },
        )
    )


def test_a_handler_answering_its_own_token_gives_the_task_result(tmp_path):
    executor: Executor

    def handler(call):
        executor.task_tokens.send_success(call.parameters["Payload"]["token"], '{"ok": 1}')
        return {"StatusCode": 200}

    executor = Executor(waiting(), {INVOKE: handler}, history_dir=tmp_path)
    result = executor.run({}, "x")
    assert (result.status, result.output) == ("SUCCEEDED", {"ok": 1})
    assert types_of(result)[2:6] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]


def test_the_task_waits_until_another_thread_answers(tmp_path):
    executor: Executor
    tokens: list[str] = []

    def handler(call):
        tokens.append(call.parameters["Payload"]["token"])
        return {}

    executor = Executor(waiting(), {INVOKE: handler}, history_dir=tmp_path)
    answered_at: list[float] = []

    def answer_later() -> None:
        while not tokens:
            time.sleep(0.01)
        time.sleep(0.3)
        answered_at.append(time.monotonic())
        executor.task_tokens.send_success(tokens[0], '"late"')

    threading.Thread(target=answer_later).start()
    result = executor.run({}, "x")
    assert (result.status, result.output) == ("SUCCEEDED", "late")
    assert answered_at and time.monotonic() >= answered_at[0]


def test_send_failure_fails_the_task_with_that_error(tmp_path):
    executor: Executor

    def handler(call):
        executor.task_tokens.send_failure(call.parameters["Payload"]["token"], "Nope", "why")
        return {}

    executor = Executor(waiting(), {INVOKE: handler}, history_dir=tmp_path)
    result = executor.run({}, "x")
    assert (result.status, result.error, result.cause) == ("FAILED", "Nope", "why")


def test_an_unanswered_token_times_out(tmp_path):
    executor = Executor(waiting(TimeoutSeconds=1), {INVOKE: lambda call: {}}, history_dir=tmp_path)
    result = executor.run({}, "x")
    assert (result.status, result.error) == ("FAILED", "States.Timeout")


def test_a_failing_sibling_branch_aborts_the_wait(tmp_path):
    definition = machine(
        (
            "P",
            {
                "Type": "Parallel",
                "Branches": [
                    waiting(),
                    machine(("F", {"Type": "Fail", "Error": "Boom", "Cause": "sibling"})),
                ],
                "End": True,
            },
        )
    )
    started = time.monotonic()
    result = Executor(definition, {INVOKE: lambda call: {}}, history_dir=tmp_path).run({}, "x")
    assert (result.status, result.error) == ("FAILED", "Boom")
    assert time.monotonic() - started < 5
