"""Lambda's EFS mounts under the rehearsal, decided as EFS decides them. Lambda developer guide,
"Configuring file system access for Lambda functions": "If the file system doesn't have a
user-configured [...] IAM policy, EFS uses a default policy that grants full access to any client
that can connect to the file system using a file system mount target. If the file system has a
user-configured IAM policy, your function's execution role must have the correct
elasticfilesystem permissions" (ClientMount; ClientWrite "not required for read-only
connections")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from wdl2sfn.backends.rehearsal.mounts import missing_mount_permissions

ROLE = "arn:aws:iam::123456789012:role/PrepareRole"
OTHER = "arn:aws:iam::123456789012:role/SomeoneElse"
AP = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1"
VIA_MOUNT_TARGET = {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}


@dataclass
class Provisioned:
    access_points: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"fsap-1": {"file_system": "fs-1"}}
    )
    fs_policies: dict[str, str] = field(default_factory=dict)


class Roles:
    def __init__(self, statements: list[dict[str, Any]]) -> None:
        self.doc = json.dumps({"Version": "2012-10-17", "Statement": statements})

    def policies(self, role_name: str) -> list[str]:
        return [self.doc]


def fs_policy(principal: Any, actions: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": principal, "Action": actions, "Resource": "*",
        "Condition": VIA_MOUNT_TARGET}]})  # fmt: skip


def test_without_a_file_system_policy_any_client_may_mount() -> None:
    assert missing_mount_permissions(Roles([]), Provisioned(), ROLE, AP) == []  # type: ignore[arg-type]


def test_the_role_needs_client_mount_once_the_file_system_has_a_policy() -> None:
    provisioned = Provisioned(fs_policies={"fs-1": fs_policy({"AWS": "*"}, [
        "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"])})  # fmt: skip
    missing = missing_mount_permissions(Roles([]), provisioned, ROLE, AP)  # type: ignore[arg-type]
    assert missing == ["elasticfilesystem:ClientMount"]
    granted = Roles([{"Effect": "Allow", "Action": "elasticfilesystem:ClientMount",
                      "Resource": "*", "Condition": VIA_MOUNT_TARGET}])  # fmt: skip
    assert missing_mount_permissions(granted, provisioned, ROLE, AP) == []  # type: ignore[arg-type]


def test_a_file_system_policy_for_another_principal_grants_the_role_nothing() -> None:
    actions = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    provisioned = Provisioned(fs_policies={"fs-1": fs_policy({"AWS": OTHER}, actions)})
    assert missing_mount_permissions(Roles([]), provisioned, ROLE, AP) == actions  # type: ignore[arg-type]
    provisioned = Provisioned(fs_policies={"fs-1": fs_policy({"AWS": ROLE}, actions)})
    assert missing_mount_permissions(Roles([]), provisioned, ROLE, AP) == []  # type: ignore[arg-type]
