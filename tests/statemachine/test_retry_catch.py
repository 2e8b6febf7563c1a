"""Retry and Catch: matching rules, defaults, backoff, catcher ResultPath, terminal errors."""

from __future__ import annotations

import pytest

from wdl2sfn.statemachine.errors import TaskFailure, error_matches
from wdl2sfn.statemachine.interpreter import retry_delay
from wdl2sfn.statemachine.model import Retrier

from .conftest import events_of, machine


def failing(errors):
    """A handler failing with each error name in turn, then succeeding."""
    remaining = list(errors)

    def handler(call):
        if remaining:
            raise TaskFailure(remaining.pop(0), "cause")
        return {"ok": call.retry_count}

    return handler


def task(**extra):
    return machine(
        ("T", {"Type": "Task", "Resource": "r", "End": True, **extra}),
        ("C", {"Type": "Pass", "End": True}),
    )


@pytest.mark.parametrize(
    ("equals", "error", "expected"),
    [
        (["States.ALL"], "Custom", True),
        (["States.ALL"], "States.Timeout", True),
        (["States.ALL"], "States.Runtime", False),
        (["States.ALL"], "States.DataLimitExceeded", False),
        (["States.DataLimitExceeded"], "States.DataLimitExceeded", True),
        (["States.Runtime"], "States.Runtime", False),
        (["States.TaskFailed"], "Custom", True),
        (["States.TaskFailed"], "States.Timeout", False),
        (["States.Timeout"], "States.HeartbeatTimeout", True),
        (["A", "B"], "B", True),
        (["A"], "B", False),
    ],
)
def test_error_matching_rules(equals, error, expected):
    assert error_matches(equals, error) is expected


def test_retry_defaults_are_interval_1_max_3_backoff_2():
    r = Retrier(["X"])
    assert (r.interval_seconds, r.max_attempts, r.backoff_rate) == (1.0, 3, 2.0)
    assert [retry_delay(r, i) for i in range(3)] == [1.0, 2.0, 4.0]


def test_retry_max_delay_caps_backoff():
    assert retry_delay(Retrier(["X"], 1, 5, 10, max_delay_seconds=3), 2) == 3


def test_full_jitter_is_at_most_the_delay():
    r = Retrier(["X"], 1, 5, 2, jitter="FULL")
    assert all(0 <= retry_delay(r, 1) <= 2 for _ in range(50))


def test_retry_succeeds_after_failures(run):
    d = task(Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 0, "MaxAttempts": 2}])
    result = run(d, {}, {"r": failing(["E", "E"])})
    assert result.output == {"ok": 2}
    types = [e["type"] for e in events_of(result)]
    assert types.count("TaskScheduled") == 3 and types.count("TaskFailed") == 2
    assert types.count("TaskStateEntered") == 1


def test_retry_gives_up_after_max_attempts(run):
    d = task(Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 0, "MaxAttempts": 1}])
    assert run(d, {}, {"r": failing(["E", "E"])}).error == "E"


def test_max_attempts_zero_never_retries(run):
    d = task(Retry=[{"ErrorEquals": ["E"], "MaxAttempts": 0}])
    result = run(d, {}, {"r": failing(["E"])})
    assert result.error == "E"
    assert [e["type"] for e in events_of(result)].count("TaskScheduled") == 1


def test_first_matching_retrier_applies_and_counts_per_retrier(run):
    # AWS doc example: ErrorA, ErrorB, ErrorC, ErrorB, ErrorB -> the fifth exhausts retrier 1 -> Catch.
    d = task(
        Retry=[
            {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 0, "MaxAttempts": 2},
            {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 0},
        ],
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "C"}],
    )
    result = run(d, {}, {"r": failing(["ErrorA", "ErrorB", "ErrorC", "ErrorB", "ErrorB"])})
    assert result.output == {"Error": "ErrorB", "Cause": "cause"}


def test_catch_default_result_path_replaces_input(run):
    d = task(Catch=[{"ErrorEquals": ["E"], "Next": "C"}])
    assert run(d, {"a": 1}, {"r": failing(["E"])}).output == {"Error": "E", "Cause": "cause"}


def test_catch_result_path_keeps_input(run):
    d = task(Catch=[{"ErrorEquals": ["E"], "ResultPath": "$.err", "Next": "C"}])
    assert run(d, {"a": 1}, {"r": failing(["E"])}).output == {
        "a": 1,
        "err": {"Error": "E", "Cause": "cause"},
    }


def test_catchers_are_scanned_in_order(run):
    d = machine(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "r",
                "End": True,
                "Catch": [
                    {"ErrorEquals": ["Other"], "Next": "A"},
                    {"ErrorEquals": ["States.ALL"], "Next": "B"},
                ],
            },
        ),
        ("A", {"Type": "Pass", "Result": "A", "End": True}),
        ("B", {"Type": "Pass", "Result": "B", "End": True}),
    )
    assert run(d, {}, {"r": failing(["E"])}).output == "B"


def test_states_all_does_not_catch_states_runtime(run):
    d = machine(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "r",
                "Parameters": {"x.$": "$.missing"},
                "End": True,
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
            },
        ),
        ("C", {"Type": "Pass", "End": True}),
    )
    result = run(d, {}, {"r": lambda call: {}})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


def test_states_all_does_not_catch_data_limit_exceeded(run):
    d = task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "C"}])
    result = run(d, {}, {"r": lambda call: "x" * 300_000})
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


def test_explicit_data_limit_exceeded_catcher_catches_it(run):
    d = task(Catch=[{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "C"}])
    assert (
        run(d, {}, {"r": lambda call: "x" * 300_000}).output["Error"] == "States.DataLimitExceeded"
    )


def test_task_failed_catches_handler_errors_but_not_timeouts(run):
    d = task(TimeoutSeconds=0.05, Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "C"}])
    assert run(d, {}, {"r": lambda call: call.abort.wait(5) and {}}).error == "States.Timeout"


def test_retry_on_parallel_reruns_the_branches(run):
    attempts = []

    def handler(call):
        attempts.append(call)
        if len(attempts) < 2:
            raise TaskFailure("Flaky")
        return "ok"

    d = machine(
        (
            "Par",
            {
                "Type": "Parallel",
                "Branches": [machine(("T", {"Type": "Task", "Resource": "r", "End": True}))],
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 0}],
                "End": True,
            },
        )
    )
    result = run(d, {}, {"r": handler})
    assert result.output == ["ok"]
    assert [e["type"] for e in events_of(result)].count("ParallelStateStarted") == 2


def test_catch_on_map(run):
    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "ItemProcessor": machine(("F", {"Type": "Fail", "Error": "Bad", "Cause": "c"})),
                "Catch": [{"ErrorEquals": ["Bad"], "ResultPath": "$.e", "Next": "C"}],
                "End": True,
            },
        ),
        ("C", {"Type": "Pass", "End": True}),
    )
    assert run(d, {"xs": [1]}).output == {"xs": [1], "e": {"Error": "Bad", "Cause": "c"}}
