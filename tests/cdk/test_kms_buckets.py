"""Buckets encrypted with SSE-KMS: the roles that read or write run data may use the keys named
in context ``kms_key_arns``, and only those keys (issue 20 item 15).

Amazon S3 user guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)", Permissions:
"To upload or download an object encrypted with an AWS KMS key to or from Amazon S3, you need
kms:GenerateDataKey and kms:Decrypt permissions on the key." Readers of ``read_buckets`` (the
run-time steps, the runner, the task jobs) download; the runner uploads (``write_buckets``).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from wdl2sfn_cdk import load_config
from wdl2sfn_cdk.stack import Wdl2SfnStack

KEYS = [
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321",
]


def _template(**context: Any) -> dict[str, Any]:
    app = cdk.App()
    ctx = {"variant": "new-vpc", "endpoints": "false", "read_buckets": "inputs", **context}
    stack = Wdl2SfnStack(app, "kms-test", config=load_config(ctx))
    return Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def with_keys() -> dict[str, Any]:
    return _template(kms_key_arns=",".join(KEYS), write_buckets="results")


def _kms_grants(template: dict[str, Any]) -> dict[str, set[str]]:
    """Role logical id -> the KMS actions its policies allow on exactly ``KEYS``."""
    grants: dict[str, set[str]] = {}
    for policy in template["Resources"].values():
        if policy["Type"] != "AWS::IAM::Policy":
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            if not any(a.startswith("kms:") for a in actions):
                continue
            assert statement["Resource"] == KEYS
            for role in policy["Properties"]["Roles"]:
                grants.setdefault(role["Ref"], set()).update(actions)
    return grants


def _role(template: dict[str, Any], prefix: str) -> str:
    (logical,) = [
        k
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::IAM::Role" and k.startswith(prefix)
    ]
    return logical


def test_the_runner_may_read_and_write_objects_under_the_given_keys(
    with_keys: dict[str, Any],
) -> None:
    grants = _kms_grants(with_keys)
    assert grants[_role(with_keys, "RunnerJobRole")] == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_task_jobs_and_run_time_steps_may_decrypt_with_the_given_keys(
    with_keys: dict[str, Any],
) -> None:
    grants = _kms_grants(with_keys)
    assert grants[_role(with_keys, "TaskJobRole")] == {"kms:Decrypt"}
    prepare = _role(with_keys, "PrepareFunctionServiceRole")
    assert grants[prepare] == {"kms:Decrypt"}


def test_without_kms_key_arns_no_role_may_use_kms() -> None:
    assert _kms_grants(_template()) == {}
