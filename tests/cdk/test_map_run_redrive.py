"""``wdl2sfn resume`` redrives a failed execution; a Distributed Map's failed Map Run is redriven
with it, and the state machine's own role is what Step Functions checks for that (issue 20 item
13).

Step Functions developer guide, "Redriving Map Runs" (redrive-map-run), "IAM permission to
redrive a Map Run": "Step Functions needs appropriate permission to redrive a Map Run. The
following IAM policy example grants the least privilege required to your state machine for
redriving a Map Run." -- ``"Action": ["states:RedriveExecution"]``, ``"Resource":
"arn:aws:states:us-east-2:123456789012:execution:myStateMachineName/myMapRunLabel:*"``.

The policies are evaluated with the rehearsal's IAM evaluator (moto's statement matcher under
IAM's allow/deny rule), after resolving the template's ``Fn::Join`` ARNs for one account.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from wdl2sfn.backends.rehearsal.iam import evaluate

from .conftest import Synth

ACCOUNT, REGION = "123456789012", "us-east-1"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}


def _resolve(value: Any) -> Any:
    """Fn::Join of pseudo parameters, as CloudFormation resolves them in one account."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(str(_resolve(p)) for p in parts)
    if isinstance(value, dict) and "Ref" in value and value["Ref"] in PSEUDO:
        return PSEUDO[value["Ref"]]
    if isinstance(value, dict) and set(value) & {"Ref", "Fn::GetAtt"}:
        return f"arn:aws:unresolved:::{value}"  # queues, the bucket: not what this test checks
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def _policy(synth: Synth, prefix: str) -> str:
    (policy,) = [p for k, p in synth.resources("AWS::IAM::Policy").items() if k.startswith(prefix)]
    return json.dumps(_resolve(policy["Properties"]["PolicyDocument"]))


def _execution(machine: str, rest: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}{rest}"


MAP_RUN_CHILD = "/scatter_0-0f1e2d3c:8a9b0c1d-aaaa-bbbb-cccc-0123456789ab"


@pytest.mark.parametrize(
    ("prefix", "machine"),
    [
        ("WorkflowHelloStateMachinePolicy", "wdl2sfn-hello"),  # CDK-deployed machine's role
        ("StateMachineRolePolicy", "wdl2sfn-anything"),  # role of machines `deploy` creates
    ],
)
def test_a_machine_role_may_redrive_its_map_run_children(
    new_vpc: Synth, prefix: str, machine: str
) -> None:
    policy = _policy(new_vpc, prefix)
    assert evaluate([policy], "states:RedriveExecution", _execution(machine, MAP_RUN_CHILD))


def test_the_grant_is_scoped_to_the_machines_own_map_runs(new_vpc: Synth) -> None:
    policy = _policy(new_vpc, "WorkflowHelloStateMachinePolicy")
    other = _execution("other-stack-hello", MAP_RUN_CHILD)
    assert not evaluate([policy], "states:RedriveExecution", other)
