"""The roles EventBridge, Scheduler and prepare use are granted what AWS authorizes (issue 20
items 1 and 2).

Step Functions developer guide, "auth-version-alias": "To authorize a version or an alias to
invoke an API action, Step Functions uses the state machine's ARN instead of using the version
ARN or alias ARN." The triggers start the alias ``live``, so their roles must allow the machine's
own ARN (here scoped with ``states:StateMachineQualifier`` = ``live``).
"""

from __future__ import annotations

import json
from typing import Any

from .conftest import Synth


def _start_statements(synth: Synth, prefix: str) -> list[dict[str, Any]]:
    policies = synth.resources("AWS::IAM::Policy")
    found = [
        s
        for logical, policy in policies.items()
        if logical.startswith(prefix)
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "states:StartExecution"
    ]
    assert found, f"no StartExecution statement in {prefix}*"
    return found


def _machine_grant(statements: list[dict[str, Any]]) -> dict[str, Any]:
    machine = [s for s in statements if json.dumps(s["Resource"]).startswith('{"Ref": "Workflow')]
    assert len(machine) == 1, statements
    return machine[0]


def test_the_s3_inputs_rule_role_may_start_the_machine_arn_on_live(existing_vpc: Synth) -> None:
    grant = _machine_grant(_start_statements(existing_vpc, "WorkflowHelloLiveEventsRole"))
    assert grant["Condition"] == {"StringEquals": {"states:StateMachineQualifier": "live"}}


def test_the_schedule_role_may_start_the_machine_arn_on_live(existing_vpc: Synth) -> None:
    grant = _machine_grant(_start_statements(existing_vpc, "SchedulerRoleForTarget"))
    assert grant["Condition"] == {"StringEquals": {"states:StateMachineQualifier": "live"}}


def test_prepare_may_pass_the_job_role_to_batch_registration(new_vpc: Synth) -> None:
    """RegisterJobDefinition is Batch's API: the role is passed to batch.amazonaws.com."""
    policies = new_vpc.resources("AWS::IAM::Policy")
    (policy,) = [
        p for k, p in policies.items() if k.startswith("PrepareFunctionServiceRoleDefault")
    ]
    (passrole,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "iam:PassRole"
    ]
    services = passrole["Condition"]["StringEquals"]["iam:PassedToService"]
    assert "batch.amazonaws.com" in services
