"""The rehearsal authorizes as AWS does (DESIGN invariant 10): Step Functions versions and aliases
by the state machine's own ARN, and condition keys taken from the request.

Step Functions developer guide, "auth-version-alias": "To authorize a version or an alias to
invoke an API action, Step Functions uses the state machine's ARN instead of using the version
ARN or alias ARN." It scopes them with "the optional context key named
states:StateMachineQualifier".
"""

from __future__ import annotations

import json
from typing import Any

from wdl2sfn.backends.rehearsal.iam import evaluate, passed_to, states_resource

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:wdl2sfn-hello"
ROLE = "arn:aws:iam::123456789012:role/TaskJobRole"


def _policy(action: str, resource: str, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_versions_and_aliases_are_evaluated_as_the_machine_with_their_qualifier() -> None:
    assert states_resource(f"{MACHINE}:live") == (MACHINE, {"states:StateMachineQualifier": "live"})
    assert states_resource(f"{MACHINE}:3") == (MACHINE, {"states:StateMachineQualifier": "3"})
    assert states_resource(MACHINE) == (MACHINE, {})
    execution = "arn:aws:states:us-east-1:123456789012:execution:wdl2sfn-hello:run-1"
    assert states_resource(execution) == (execution, {})


def test_a_policy_naming_only_the_alias_arn_is_denied_as_on_aws() -> None:
    """The shortcut that hid issue 20 item 1: the triggers' roles allowed only ``...:live``."""
    old = [_policy("states:StartExecution", f"{MACHINE}:live")]
    assert not evaluate(old, "states:StartExecution", f"{MACHINE}:live")


def test_the_machine_arn_scoped_to_live_allows_the_alias_and_not_a_version() -> None:
    live = {"StringEquals": {"states:StateMachineQualifier": "live"}}
    new = [_policy("states:StartExecution", MACHINE, live)]
    assert evaluate(new, "states:StartExecution", f"{MACHINE}:live")
    assert not evaluate(new, "states:StartExecution", f"{MACHINE}:3")
    assert not evaluate(new, "states:StartExecution", MACHINE)
    unscoped = [_policy("states:StartExecution", MACHINE)]
    assert evaluate(unscoped, "states:StartExecution", f"{MACHINE}:3")


def test_passed_to_service_comes_from_the_api_that_receives_the_role() -> None:
    """RegisterJobDefinition is Batch's API: a PassRole allowed only to ecs-tasks is denied."""
    ecs_only = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert not evaluate([_policy("iam:PassRole", ROLE, ecs_only)], "iam:PassRole", ROLE,
                        passed_to("batch"))  # fmt: skip
    both = {"StringEquals": {"iam:PassedToService": ["batch.amazonaws.com",
                                                     "ecs-tasks.amazonaws.com"]}}  # fmt: skip
    assert evaluate([_policy("iam:PassRole", ROLE, both)], "iam:PassRole", ROLE, passed_to("batch"))
