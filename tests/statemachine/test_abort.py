"""Stopping executions and timeouts: ABORTED/TIMED_OUT, handlers told to stop, Wait interrupted."""

from __future__ import annotations

import threading
import time

from wdl2sfn.statemachine.executor import Executor

from .conftest import events_of, machine


def test_stop_aborts_the_running_handler_and_ends_aborted(tmp_path):
    started, aborted = threading.Event(), threading.Event()

    def slow(call):
        started.set()
        if call.abort.wait(5):
            aborted.set()
        return {}

    d = machine(("T", {"Type": "Task", "Resource": "r", "End": True}))
    execution = Executor(d, {"r": slow}, history_dir=tmp_path).start({}, "x")
    assert started.wait(5)
    execution.stop("User.Stop", "by test")
    result = execution.wait(5)
    assert (result.status, result.error, result.cause) == ("ABORTED", "User.Stop", "by test")
    assert aborted.wait(5)
    events = events_of(result)
    assert events[-1]["type"] == "ExecutionAborted"
    assert events[-1]["executionAbortedEventDetails"] == {"error": "User.Stop", "cause": "by test"}


def test_stop_interrupts_a_wait_state_promptly():
    d = machine(("W", {"Type": "Wait", "Seconds": 30, "End": True}))
    execution = Executor(d, {}).start({}, "x")
    time.sleep(0.05)
    t0 = time.monotonic()
    execution.stop()
    assert execution.wait(2).status == "ABORTED"
    assert time.monotonic() - t0 < 1


def test_stop_reaches_handlers_inside_map_iterations():
    started = threading.Semaphore(0)
    aborted = []

    def slow(call):
        started.release()
        if call.abort.wait(5):
            aborted.append(call.parameters)
        return {}

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
    execution = Executor(d, {"r": slow}).start([1, 2, 3], "x")
    for _ in range(3):
        assert started.acquire(timeout=5)
    execution.stop()
    assert execution.wait(5).status == "ABORTED"
    deadline = time.monotonic() + 5
    while len(aborted) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(aborted) == [1, 2, 3]


def test_map_iteration_failure_aborts_sibling_iterations(run):
    aborted = threading.Event()

    def handler(call):
        if call.parameters == 0:
            time.sleep(0.05)
            from wdl2sfn.statemachine.errors import TaskFailure

            raise TaskFailure("Bad")
        if call.abort.wait(5):
            aborted.set()
        return {}

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
    result = run(d, [0, 1], {"r": handler})
    assert result.error == "Bad" and aborted.is_set()
    types = [e["type"] for e in events_of(result)]
    assert "MapIterationAborted" in types and "MapStateFailed" in types


def test_execution_timeout_seconds_times_out(tmp_path):
    d = machine(("W", {"Type": "Wait", "Seconds": 10, "End": True}), TimeoutSeconds=0.1)
    result = Executor(d, {}, history_dir=tmp_path).run({}, "x")
    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
    assert events_of(result)[-1]["type"] == "ExecutionTimedOut"


def test_stop_after_the_end_changes_nothing():
    execution = Executor(machine(("P", {"Type": "Pass", "End": True})), {}).start({}, "x")
    result = execution.wait(5)
    execution.stop()
    assert execution.wait(1) is result and result.status == "SUCCEEDED"
