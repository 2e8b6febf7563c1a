"""states:startExecution (.sync:2, .sync, fire-and-forget) served by the executor itself."""

from __future__ import annotations

import json

import pytest

from wdl2sfn.statemachine.executor import Executor
from wdl2sfn.statemachine.tasks import split_resource

from .conftest import events_of, machine

CHILD_ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:child"
CHILD = machine(
    ("P", {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True})
)
FAILING_CHILD = machine(("F", {"Type": "Fail", "Error": "ChildErr", "Cause": "bad"}))


def parent(resource):
    return machine(
        (
            "S",
            {
                "Type": "Task",
                "Resource": resource,
                "Parameters": {
                    "StateMachineArn": CHILD_ARN,
                    "Input": {"n.$": "$.n"},
                    "Name": "kid",
                },
                "End": True,
            },
        )
    )


def test_sync2_returns_describe_execution_with_parsed_output(tmp_path):
    ex = Executor(
        parent("arn:aws:states:::states:startExecution.sync:2"),
        {},
        state_machines={CHILD_ARN: CHILD},
        history_dir=tmp_path,
    )
    result = ex.run({"n": 4}, "p")
    assert result.output["Status"] == "SUCCEEDED"
    assert result.output["Output"] == {"doubled": 8} and result.output["Input"] == {"n": 4}
    assert result.output["ExecutionArn"].endswith(":child:kid")
    assert "TaskSubmitted" in [e["type"] for e in events_of(result)]
    assert (tmp_path / "executions" / "kid" / "history.jsonl").exists()


@pytest.mark.parametrize(
    "action", ["startExecution.sync:2", "startExecution.sync", "startExecution"]
)
def test_task_events_name_the_states_service_and_the_whole_action(action, tmp_path):
    """As AWS histories do (``states`` / ``startExecution.sync:2``): readers find child
    executions by ``resourceType == "states"`` (backends/aws/runs.py, follow.py)."""
    ex = Executor(
        parent(f"arn:aws:states:::states:{action}"),
        {},
        state_machines={CHILD_ARN: CHILD},
        history_dir=tmp_path,
    )
    tasks = [e for e in events_of(ex.run({"n": 1}, "p")) if e["type"].startswith("Task")]
    details = [next(v for k, v in e.items() if k.endswith("EventDetails")) for e in tasks
               if e["type"] not in ("TaskStateEntered", "TaskStateExited")]  # fmt: skip
    assert details and {(d["resourceType"], d["resource"]) for d in details} == {("states", action)}


def test_sync_returns_output_as_json_text():
    ex = Executor(
        parent("arn:aws:states:::states:startExecution.sync"), {}, state_machines={CHILD_ARN: CHILD}
    )
    out = ex.run({"n": 1}, "p").output
    assert json.loads(out["Output"]) == {"doubled": 2} and isinstance(out["Input"], str)


def test_sync_child_failure_is_states_task_failed_with_describe_cause():
    ex = Executor(
        parent("arn:aws:states:::states:startExecution.sync:2"),
        {},
        state_machines={CHILD_ARN: FAILING_CHILD},
    )
    result = ex.run({"n": 1}, "p")
    assert result.error == "States.TaskFailed"
    cause = json.loads(result.cause)
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "ChildErr", "bad")


def test_fire_and_forget_returns_arn_and_start_date():
    ex = Executor(
        parent("arn:aws:states:::states:startExecution"), {}, state_machines={CHILD_ARN: CHILD}
    )
    out = ex.run({"n": 1}, "p").output
    assert set(out) == {"ExecutionArn", "StartDate"}


def test_unknown_state_machine_fails_the_task():
    ex = Executor(parent("arn:aws:states:::states:startExecution.sync:2"), {})
    assert ex.run({"n": 1}, "p").error == "StepFunctions.StateMachineDoesNotExistException"


def test_child_history_counts_separately():
    from wdl2sfn.statemachine.quotas import Quotas

    loop = machine(
        ("P", {"Type": "Pass", "Next": "P2"}),
        ("P2", {"Type": "Pass", "Next": "P3"}),
        ("P3", {"Type": "Pass", "End": True}),
    )
    ex = Executor(
        parent("arn:aws:states:::states:startExecution.sync:2"),
        {},
        state_machines={CHILD_ARN: loop},
        quotas=Quotas(history_events=9),
    )
    assert ex.run({"n": 1}, "p").status == "SUCCEEDED"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("arn:aws:states:::batch:submitJob.sync", ("batch", "submitJob.sync")),
        ("arn:aws:states:::states:startExecution.sync:2", ("states", "startExecution.sync:2")),
        (
            "arn:aws:states:::aws-sdk:batch:submitJob.waitForTaskToken",
            ("aws-sdk:batch", "submitJob.waitForTaskToken"),
        ),
        ("arn:aws:states:::aws-sdk:s3:getObject", ("aws-sdk:s3", "getObject")),
    ],
)
def test_an_sdk_integrations_events_name_its_service_with_the_aws_sdk_prefix(resource, expected):
    assert split_resource(resource) == expected
