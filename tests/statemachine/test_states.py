"""Per state type behaviour: Pass, Task, Wait, Succeed, Fail, Parallel, Map (inline)."""

from __future__ import annotations

import threading
import time

import pytest

from wdl2sfn.statemachine.errors import DefinitionError, TaskFailure
from wdl2sfn.statemachine.executor import Executor

from .conftest import machine, types_of

INVOKE = "arn:aws:states:::lambda:invoke"
FN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def test_pass_result_replaces_input(run):
    assert run(
        machine(("P", {"Type": "Pass", "Result": {"x": 1}, "End": True})), {"a": 1}
    ).output == {"x": 1}


def test_pass_parameters_build_the_output(run):
    d = machine(("P", {"Type": "Pass", "Parameters": {"k": "v", "a.$": "$.a"}, "End": True}))
    assert run(d, {"a": 1}).output == {"k": "v", "a": 1}


def test_pass_without_result_passes_input_through(run):
    assert run(machine(("P", {"Type": "Pass", "End": True})), {"a": 1}).output == {"a": 1}


def test_task_handler_receives_effective_parameters(run):
    seen = {}

    def handler(call):
        seen.update(resource=call.resource, params=call.parameters, state=call.state_name)
        return {"ok": True}

    d = machine(
        (
            "T",
            {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "End": True,
            },
        )
    )
    assert run(d, {"a": 1}, {INVOKE: handler}).output == {"ok": True}
    assert seen == {
        "resource": INVOKE,
        "params": {"FunctionName": "f", "Payload": {"a": 1}},
        "state": "T",
    }


def test_task_substitutions_apply_to_the_definition_text(run):
    d = machine(
        (
            "T",
            {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "${Fn}"},
                "End": True,
            },
        )
    )
    out = run(
        d, {}, {INVOKE: lambda call: call.parameters["FunctionName"]}, substitutions={"Fn": FN}
    ).output
    assert out == FN


def test_legacy_lambda_arn_dispatches_to_invoke_and_unwraps_payload(run):
    calls = []

    def handler(call):
        calls.append(call.parameters)
        return {"StatusCode": 200, "Payload": {"echo": call.parameters["Payload"]}}

    result = run(
        machine(("T", {"Type": "Task", "Resource": FN, "End": True})), {"a": 1}, {INVOKE: handler}
    )
    assert result.output == {"echo": {"a": 1}}
    assert calls == [{"FunctionName": FN, "Payload": {"a": 1}}]
    assert "LambdaFunctionScheduled" in types_of(result) and "LambdaFunctionSucceeded" in types_of(
        result
    )


def test_unknown_resource_fails_the_state_with_states_runtime(run):
    result = run(machine(("T", {"Type": "Task", "Resource": "arn:aws:states:::nope", "End": True})))
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "'T'" in result.cause


def test_task_failure_carries_error_and_cause(run):
    def handler(call):
        raise TaskFailure("Custom.Error", "because")

    result = run(machine(("T", {"Type": "Task", "Resource": "r", "End": True})), {}, {"r": handler})
    assert (result.status, result.error, result.cause) == ("FAILED", "Custom.Error", "because")


def test_unexpected_exception_is_reported_like_lambda(run):
    def handler(call):
        raise KeyError("boom")

    result = run(machine(("T", {"Type": "Task", "Resource": "r", "End": True})), {}, {"r": handler})
    assert result.error == "KeyError" and '"errorType":"KeyError"' in result.cause


def test_task_timeout_fails_with_states_timeout_and_aborts_handler(run):
    aborted = threading.Event()

    def slow(call):
        if call.abort.wait(5):
            aborted.set()
        return {}

    d = machine(("T", {"Type": "Task", "Resource": "r", "TimeoutSeconds": 0.1, "End": True}))
    result = run(d, {}, {"r": slow})
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert aborted.wait(2)
    assert "TaskTimedOut" in types_of(result)


def test_timeout_seconds_path(run):
    d = machine(("T", {"Type": "Task", "Resource": "r", "TimeoutSecondsPath": "$.t", "End": True}))
    result = run(d, {"t": 0.05}, {"r": lambda call: call.abort.wait(5) and {}})
    assert result.error == "States.Timeout"


def test_heartbeat_timeout(run):
    d = machine(("T", {"Type": "Task", "Resource": "r", "HeartbeatSeconds": 0.1, "End": True}))
    result = run(d, {}, {"r": lambda call: call.abort.wait(5) and {}})
    assert result.error == "States.HeartbeatTimeout"


def test_heartbeat_calls_keep_the_task_alive(run):
    def beating(call):
        for _ in range(6):
            time.sleep(0.04)
            call.heartbeat()
        return {"done": True}

    d = machine(("T", {"Type": "Task", "Resource": "r", "HeartbeatSeconds": 0.1, "End": True}))
    assert run(d, {}, {"r": beating}).output == {"done": True}


def test_wait_seconds_path_and_timestamp(run):
    d = machine(
        ("W1", {"Type": "Wait", "SecondsPath": "$.s", "Next": "W2"}),
        ("W2", {"Type": "Wait", "Timestamp": "2000-01-01T00:00:00Z", "Next": "W3"}),
        ("W3", {"Type": "Wait", "TimestampPath": "$.t", "End": True}),
    )
    start = time.monotonic()
    result = run(d, {"s": 0.05, "t": "2001-01-01T00:00:00Z"})
    assert result.status == "SUCCEEDED" and time.monotonic() - start >= 0.05
    assert types_of(result).count("WaitStateExited") == 3


def test_wait_seconds_path_negative_is_runtime_error(run):
    result = run(machine(("W", {"Type": "Wait", "SecondsPath": "$.s", "End": True})), {"s": -1})
    assert result.error == "States.Runtime"


def test_succeed_applies_output_path(run):
    assert run(machine(("S", {"Type": "Succeed", "OutputPath": "$.a"})), {"a": 3}).output == 3


def test_fail_with_error_and_cause(run):
    result = run(machine(("F", {"Type": "Fail", "Error": "E", "Cause": "C"})))
    assert (result.status, result.error, result.cause) == ("FAILED", "E", "C")


def test_fail_with_error_path_and_cause_path(run):
    result = run(
        machine(("F", {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"})),
        {"e": "E2", "c": "C2"},
    )
    assert (result.error, result.cause) == ("E2", "C2")


def test_parallel_results_are_in_branch_order(run):
    def branch(name, delay):
        return machine(
            (name, {"Type": "Wait", "Seconds": delay, "Next": name + "P"}),
            (name + "P", {"Type": "Pass", "Result": name, "End": True}),
        )

    d = machine(
        ("Par", {"Type": "Parallel", "Branches": [branch("A", 0.1), branch("B", 0)], "End": True})
    )
    assert run(d).output == ["A", "B"]


def test_parallel_branches_run_concurrently(run):
    barrier = threading.Barrier(3, timeout=5)

    def meet(call):
        barrier.wait()
        return call.parameters

    branches = [
        machine((f"T{i}", {"Type": "Task", "Resource": "r", "Parameters": {"i": i}, "End": True}))
        for i in range(3)
    ]
    d = machine(("Par", {"Type": "Parallel", "Branches": branches, "End": True}))
    assert run(d, {}, {"r": meet}).output == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_parallel_branch_failure_aborts_siblings_and_fails_with_its_error(run):
    aborted = threading.Event()

    def slow(call):
        if call.abort.wait(5):
            aborted.set()
        return {}

    branches = [
        machine(("Slow", {"Type": "Task", "Resource": "slow", "End": True})),
        machine(("Boom", {"Type": "Fail", "Error": "Boom", "Cause": "x"})),
    ]
    d = machine(("Par", {"Type": "Parallel", "Branches": branches, "End": True}))
    result = run(d, {}, {"slow": slow})
    assert (result.status, result.error) == ("FAILED", "Boom")
    assert aborted.is_set()
    types = types_of(result)
    assert "ParallelStateFailed" in types and "TaskStateAborted" in types


def test_map_item_selector_with_context_item(run):
    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "ItemSelector": {
                    "i.$": "$$.Map.Item.Index",
                    "v.$": "$$.Map.Item.Value",
                    "k.$": "$.k",
                },
                "ItemProcessor": machine(("P", {"Type": "Pass", "End": True})),
                "ResultPath": "$.out",
                "End": True,
            },
        )
    )
    out = run(d, {"xs": ["a", "b"], "k": 9}).output
    assert out["out"] == [{"i": 0, "v": "a", "k": 9}, {"i": 1, "v": "b", "k": 9}]


def test_map_legacy_iterator_and_parameters(run):
    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "Parameters": {"v.$": "$$.Map.Item.Value"},
                "Iterator": machine(("P", {"Type": "Pass", "OutputPath": "$.v", "End": True})),
                "End": True,
            },
        )
    )
    assert run(d, [1, 2, 3]).output == [1, 2, 3]


def test_map_result_selector(run):
    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "ItemProcessor": machine(("P", {"Type": "Pass", "End": True})),
                "ResultSelector": {"all.$": "$"},
                "End": True,
            },
        )
    )
    assert run(d, [1]).output == {"all": [1]}


def test_map_items_path_not_an_array_fails(run):
    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "ItemsPath": "$.x",
                "ItemProcessor": machine(("P", {"Type": "Pass", "End": True})),
                "End": True,
            },
        )
    )
    assert run(d, {"x": 1}).error == "States.Runtime"


def test_map_iterations_run_concurrently_up_to_max_concurrency(run):
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def track(call):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return call.parameters

    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "MaxConcurrency": 3,
                "ItemProcessor": machine(("T", {"Type": "Task", "Resource": "r", "End": True})),
                "End": True,
            },
        )
    )
    result = run(d, list(range(9)), {"r": track})
    assert result.output == list(range(9))
    assert state["peak"] == 3


def test_map_unlimited_concurrency_is_capped_at_40_like_aws(run):
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def track(call):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return 0

    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "ItemProcessor": machine(("T", {"Type": "Task", "Resource": "r", "End": True})),
                "End": True,
            },
        )
    )
    run(d, list(range(60)), {"r": track})
    assert 10 < state["peak"] <= 40


def test_map_iteration_failure_fails_the_map_with_its_error(run):
    d = machine(
        (
            "M",
            {
                "Type": "Map",
                "ItemProcessor": machine(
                    (
                        "C",
                        {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}],
                            "Default": "P",
                        },
                    ),
                    ("P", {"Type": "Pass", "End": True}),
                    ("F", {"Type": "Fail", "Error": "Two"}),
                ),
                "End": True,
            },
        )
    )
    result = run(d, [1, 2, 3])
    assert (result.status, result.error) == ("FAILED", "Two")
    assert "MapIterationFailed" in types_of(result)


def test_definition_errors_are_raised_at_construction():
    with pytest.raises(DefinitionError):
        Executor(machine(("A", {"Type": "Pass", "Next": "Nowhere"})), {})
    with pytest.raises(DefinitionError):
        Executor(
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Type": "Parallel",
                        "Branches": [machine(("A", {"Type": "Succeed"}))],
                        "End": True,
                    }
                },
            },
            {},
        )


def test_start_returns_while_running_and_wait_times_out():
    d = machine(("W", {"Type": "Wait", "Seconds": 0.3, "End": True}))
    execution = Executor(d, {}).start({}, "bg")
    with pytest.raises(TimeoutError):
        execution.wait(0.01)
    assert execution.wait(5).status == "SUCCEEDED"
