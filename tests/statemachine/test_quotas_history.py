"""Quotas (256 KiB payloads, 25,000 events, 1 MB definitions) and the history's shape."""

from __future__ import annotations

import json

import pytest

from wdl2sfn.statemachine.errors import DefinitionError
from wdl2sfn.statemachine.executor import Executor
from wdl2sfn.statemachine.quotas import Quotas

from .conftest import events_of, machine, types_of


def test_map_output_over_256_kib_fails_with_data_limit_exceeded(run):
    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "ItemSelector": {"pad": "x" * 1000},
                "ItemProcessor": machine(("P", {"Type": "Pass", "End": True})),
                "End": True,
            },
        )
    )
    result = run(d, list(range(300)))
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert "'M'" in result.cause


def test_payload_just_under_the_quota_passes(run):
    text = "x" * (262_144 - 2)  # the JSON string adds two quotes
    assert run(machine(("P", {"Type": "Pass", "Result": text, "End": True}))).status == "SUCCEEDED"
    assert (
        run(machine(("P", {"Type": "Pass", "Result": text + "x", "End": True}))).error
        == "States.DataLimitExceeded"
    )


def test_payload_size_counts_utf8_bytes(run):
    text = "é" * 131_072  # 262,144 bytes + quotes
    assert (
        run(machine(("P", {"Type": "Pass", "Result": text, "End": True}))).error
        == "States.DataLimitExceeded"
    )


def test_task_parameters_over_quota_fail_before_the_handler_runs(run):
    called = []
    d = machine(
        ("T", {"Type": "Task", "Resource": "r", "Parameters": {"big.$": "$.big"}, "End": True})
    )
    ex = Executor(d, {"r": lambda call: called.append(1)})
    # the execution input itself is under the quota only by construction here: make it big via a Pass
    d2 = machine(
        (
            "P",
            {
                "Type": "Pass",
                "Parameters": {"big.$": "States.Format('{}{}', $.s, $.s)"},
                "Next": "T",
            },
        ),
        ("T", {"Type": "Task", "Resource": "r", "End": True}),
    )
    result = run(d2, {"s": "x" * 200_000}, {"r": lambda call: called.append(1)})
    assert result.error == "States.DataLimitExceeded" and not called
    assert ex is not None


def test_execution_input_over_quota_is_rejected_at_start():
    with pytest.raises(ValueError, match="262144"):
        Executor(machine(("P", {"Type": "Pass", "End": True})), {}).start("x" * 300_000, "big")


def test_definition_over_1_mb_is_rejected_naming_its_size():
    d = machine(("P", {"Type": "Pass", "Result": "x" * 1_100_000, "End": True}))
    with pytest.raises(DefinitionError, match=r"\d+ bytes"):
        Executor(d, {})


def test_loop_hits_25000_events_and_fails_like_aws(run):
    d = machine(
        (
            "Loop",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.spin", "BooleanEquals": True, "Next": "Loop"}],
                "Default": "Done",
            },
        ),
        ("Done", {"Type": "Succeed"}),
    )
    result = run(d, {"spin": True})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == "The execution reached the maximum number of history events (25000)."
    events = events_of(result)
    assert len(events) == 25_000 == result.event_count
    assert events[-1]["type"] == "ExecutionFailed" and events[-1]["id"] == 25_000
    assert events[-2]["id"] == 24_999


def test_quota_is_configurable_for_small_tests(run):
    d = machine(("P", {"Type": "Pass", "Next": "P2"}), ("P2", {"Type": "Pass", "End": True}))
    assert run(d, {}, quotas=Quotas(history_events=5)).status == "FAILED"
    assert run(d, {}, quotas=Quotas(history_events=6)).status == "SUCCEEDED"


def test_history_event_shape(run):
    d = machine(
        ("P", {"Type": "Pass", "Result": {"r": 1}, "Next": "T"}),
        (
            "T",
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"x": 1},
                "End": True,
            },
        ),
    )
    result = run(d, {"a": 1}, {"arn:aws:states:::lambda:invoke": lambda call: {"Payload": 2}})
    events = events_of(result)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, 10))
    assert [e["previousEventId"] for e in events] == list(range(0, 9))
    assert events[0]["executionStartedEventDetails"]["input"] == '{"a":1}'
    assert events[1]["stateEnteredEventDetails"] == {
        "name": "P",
        "input": '{"a":1}',
        "inputDetails": {"truncated": False},
    }
    assert events[2]["stateExitedEventDetails"]["output"] == '{"r":1}'
    scheduled = events[4]["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("lambda", "invoke")
    assert json.loads(scheduled["parameters"]) == {"x": 1} and "region" in scheduled
    assert events[6]["taskSucceededEventDetails"]["output"] == '{"Payload":2}'
    assert events[8]["executionSucceededEventDetails"]["output"] == '{"Payload":2}'
    assert events[0]["timestamp"].endswith("+00:00") and "T" in events[0]["timestamp"]


def test_history_of_failed_task(run):
    def boom(call):
        from wdl2sfn.statemachine.errors import TaskFailure

        raise TaskFailure("E", "C")

    result = run(
        machine(
            (
                "T",
                {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True},
            )
        ),
        {},
        {"arn:aws:states:::batch:submitJob.sync": boom},
    )
    events = events_of(result)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskFailed",
        "ExecutionFailed",
    ]
    assert events[5]["taskFailedEventDetails"] == {
        "resourceType": "batch",
        "resource": "submitJob.sync",
        "error": "E",
        "cause": "C",
    }
    assert events[6]["executionFailedEventDetails"] == {"error": "E", "cause": "C"}


def test_history_of_inline_map(run):
    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": machine(("P", {"Type": "Pass", "End": True})),
                "End": True,
            },
        )
    )
    result = run(d, [1, 2])
    events = events_of(result)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert events[2]["mapStateStartedEventDetails"] == {"length": 2}
    assert events[3]["mapIterationStartedEventDetails"] == {"name": "M", "index": 0}


def test_history_of_parallel_and_wait_and_succeed(run):
    d = machine(
        (
            "Par",
            {
                "Type": "Parallel",
                "Branches": [machine(("W", {"Type": "Wait", "Seconds": 0, "End": True}))],
                "Next": "S",
            },
        ),
        ("S", {"Type": "Succeed"}),
    )
    assert types_of(run(d)) == [
        "ExecutionStarted",
        "ParallelStateEntered",
        "ParallelStateStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


def test_history_of_fail_state(run):
    assert types_of(run(machine(("F", {"Type": "Fail", "Error": "E"})))) == [
        "ExecutionStarted",
        "FailStateEntered",
        "ExecutionFailed",
    ]


def test_history_of_caught_error_exits_the_state(run):
    d = machine(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "r",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "P"}],
                "End": True,
            },
        ),
        ("P", {"Type": "Pass", "End": True}),
    )
    from wdl2sfn.statemachine.errors import TaskFailure

    def boom(call):
        raise TaskFailure("E")

    assert types_of(run(d, {}, {"r": boom})) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_on_event_receives_every_event(tmp_path):
    seen = []
    d = machine(("P", {"Type": "Pass", "End": True}))
    result = Executor(
        d, {}, history_dir=tmp_path, on_event=lambda name, e: seen.append((name, e["type"]))
    ).run({}, "x")
    assert seen == [
        ("x", "ExecutionStarted"),
        ("x", "PassStateEntered"),
        ("x", "PassStateExited"),
        ("x", "ExecutionSucceeded"),
    ]
    assert result.history_path == tmp_path / "history.jsonl"


def test_history_limit_inside_map_iterations_fails_the_execution(run):
    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "ItemProcessor": machine(("P", {"Type": "Pass", "End": True})),
                "End": True,
            },
        )
    )
    result = run(d, list(range(100)), quotas=Quotas(history_events=50))
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    events = events_of(result)
    assert len(events) == 50 and events[-1]["type"] == "ExecutionFailed"


def test_jsonata_definitions_are_rejected_not_misread():
    with pytest.raises(DefinitionError, match="JSONPath"):
        Executor(machine(("P", {"Type": "Pass", "End": True}), QueryLanguage="JSONata"), {})
    with pytest.raises(DefinitionError, match="Assign"):
        Executor(machine(("P", {"Type": "Pass", "Assign": {"x": 1}, "End": True})), {})
