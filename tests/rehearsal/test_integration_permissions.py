"""The rehearsal authorizes `.sync` integrations and Lambda's EFS mounts as AWS documents them:
a role the template leaves without what AWS needs fails the run here, as it would on AWS.

Step Functions developer guide, "IAM policies for AWS Batch", Run a Job (.sync): the state
machine's role allows "events:PutTargets", "events:PutRule", "events:DescribeRule" on
"arn:aws:events:[[region]]:[[accountId]]:rule/StepFunctionsGetEventsForBatchJobsRule".
Lambda developer guide, "Configuring file system access for Lambda functions": "If the file
system has a user-configured IAM policy, your function's execution role must have the correct
elasticfilesystem permissions": elasticfilesystem:ClientMount, elasticfilesystem:ClientWrite.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .conftest import SAMPLES, Served, serve

pytestmark = pytest.mark.slow
HELLO = SAMPLES / "hello" / "hello.wdl"
Edit = Callable[[dict[str, Any]], bool]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("served"))


@contextmanager
def role_policies_edited(served: Served, edit: Edit, named: str = "") -> Iterator[int]:
    """Each role's (whose name holds ``named``) inline policy statements changed by ``edit``
    (True: it changed one), put back afterwards; yields how many policies changed."""
    iam = served.client("iam")
    saved: list[tuple[str, str, dict[str, Any]]] = []
    roles = [r for r in iam.list_roles()["Roles"] if named in r["RoleName"]]
    for role in roles:
        for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
            doc = json.loads(doc) if isinstance(doc, str) else doc
            changed = json.loads(json.dumps(doc))
            statements = changed["Statement"]
            if sum(edit(s) for s in (statements if isinstance(statements, list) else [statements])):
                saved.append((role["RoleName"], name, doc))
                iam.put_role_policy(RoleName=role["RoleName"], PolicyName=name,
                                    PolicyDocument=json.dumps(changed))  # fmt: skip
    try:
        yield len(saved)
    finally:
        for role_name, name, doc in saved:
            iam.put_role_policy(RoleName=role_name, PolicyName=name, PolicyDocument=json.dumps(doc))


def denied(served: Served, action: str) -> list[dict[str, Any]]:
    with (served.folder / "aws-calls.jsonl").open() as lines:
        calls = [json.loads(line) for line in lines]
    return [c for c in calls if c["action"] == action and not c["allowed"]]


def only_put_rule(statement: dict[str, Any]) -> bool:
    """The managed-rule statement of a machine role, left with events:PutRule alone."""
    if statement.get("Sid") != "SyncIntegrationRules":
        return False
    statement["Action"] = ["events:PutRule"]
    return True


def without_client_mount(statement: dict[str, Any]) -> bool:
    """ClientMount taken out of a statement (CDK grants it twice to each function role: with
    the access point's ARN as condition, and with AccessedViaMountTarget)."""
    mount = "elasticfilesystem:ClientMount"
    actions = statement.get("Action")
    if actions == mount:
        statement["Action"] = "elasticfilesystem:DescribeMountTargets"
        return True
    if not isinstance(actions, list) or mount not in actions:
        return False
    statement["Action"] = [a for a in actions if a != mount]
    return True


def test_the_stack_runs_hello_with_its_own_roles(served: Served) -> None:
    done = served.cli("run", str(HELLO), "who=sync", "--backend", "aws", "--wait")
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_machine_role_without_put_targets_on_the_batch_rule_fails_the_sync_state(
    served: Served,
) -> None:
    """The Batch .sync state is the call machine's `call: run` (cdk_app/wdl2sfn_cdk/calls.py):
    its role is the one left without PutTargets; the workflow's own role keeps it (it follows
    the call machine's executions through the Step Functions rule)."""
    with role_policies_edited(served, only_put_rule, named="CallMachineRole") as changed:
        assert changed == 1
        done = served.cli("run", str(HELLO), "who=rule", "--backend", "aws", "--wait")
    assert done.returncode != 0
    assert "AccessDeniedException" in done.stderr + done.stdout
    # the call machine's failure step reports it as the call's task failure, to the workflow
    assert json.loads(done.stdout)["message"].startswith("task greet failed")
    rule = "rule/StepFunctionsGetEventsForBatchJobsRule"
    assert any(c["resource"].endswith(rule) for c in denied(served, "PutTargets"))


def test_a_function_role_without_client_mount_cannot_mount_the_file_system(
    served: Served,
) -> None:
    with role_policies_edited(served, without_client_mount) as changed:
        assert changed
        done = served.cli("run", str(HELLO), "who=mount", "--backend", "aws", "--wait")
    assert done.returncode != 0
    assert "EFSMountFailureException" in done.stderr + done.stdout
    assert denied(served, "ClientMount")
