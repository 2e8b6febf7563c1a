"""Lambda's EFS mounts, authorized as EFS authorizes an NFS client before the function runs.

AWS Lambda developer guide, "Configuring file system access for Lambda functions": "If the file
system doesn't have a user-configured AWS Identity and Access Management (IAM) policy, EFS uses
a default policy that grants full access to any client that can connect to the file system using
a file system mount target. If the file system has a user-configured IAM policy, your function's
execution role must have the correct elasticfilesystem permissions": ``ClientMount`` and
``ClientWrite`` ("not required for read-only connections"; Lambda mounts read-write).

The request's condition keys come from how the mount is made: Lambda connects through a mount
target in the function's VPC (``elasticfilesystem:AccessedViaMountTarget`` is true) to an access
point (``elasticfilesystem:AccessPointArn``). A file system policy statement counts for the role
only when its ``Principal`` names the role or everyone; one naming another principal grants the
role nothing. A denied mount fails the invocation as Lambda's Invoke does: "EFSMountFailureException:
The Lambda function couldn't mount the configured file system due to a permission or
configuration issue." (Lambda API reference, Invoke, Errors; HTTP 403).
"""

from __future__ import annotations

import json
from typing import Any

from .iam import Principals, evaluate

LAMBDA_MOUNT_ACTIONS = ("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite")


def missing_mount_permissions(principals: Principals, provisioned: Any, role_arn: str,
                              access_point_arn: str) -> list[str]:  # fmt: skip
    """The EFS actions the role may not use to mount this access point (empty: it may)."""
    ap = provisioned.access_points.get(access_point_arn.rsplit("/", 1)[-1])
    if ap is None:
        return []  # not one of the stack's access points: nothing the template decides
    fs_id = str(ap["file_system"])
    policy = provisioned.fs_policies.get(fs_id)
    if policy is None:
        return []  # EFS's default policy: any client that reaches a mount target
    region, account = access_point_arn.split(":")[3:5]
    resource = f"arn:aws:elasticfilesystem:{region}:{account}:file-system/{fs_id}"
    docs = [*principals.policies(role_arn.rsplit("/", 1)[-1]), for_principal(policy, role_arn)]
    conditions = {
        "elasticfilesystem:AccessedViaMountTarget": "true",
        "elasticfilesystem:AccessPointArn": access_point_arn,
    }
    return [a for a in LAMBDA_MOUNT_ACTIONS if not evaluate(docs, a, resource, conditions)]


def for_principal(policy: str, role_arn: str) -> str:
    """The statements of a resource policy that apply to ``role_arn`` (its Principal names the
    role, or ``*``), as one policy document."""
    doc = json.loads(policy)
    statements = doc.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [s for s in statements if _names(s.get("Principal"), role_arn)]
    return json.dumps({"Version": "2012-10-17", "Statement": kept})


def _names(principal: Any, role_arn: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    named = principal.get("AWS", [])
    named = named if isinstance(named, list) else [named]
    return "*" in named or role_arn in named
