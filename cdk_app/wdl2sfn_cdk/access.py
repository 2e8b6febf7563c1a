"""Who runs as whom: the Batch jobs' roles, and the grants every part of the stack gives.

The task job role is what every task job (registered by prepare, content-hashed) runs as; the
runner job role is the runner job definition's (upload; with FSx also every run-time step).
The grants are functions, not methods, because the run-time functions, the runner role and the
task role all receive the same ones.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from .config import Config
from .nag import ack

# Batch job definitions that prepare registers (content-hashed) and the runner's all match this.
JOB_DEFINITION_PREFIX = "wdl2sfn-"
ECS_TASKS = "ecs-tasks.amazonaws.com"
BATCH = "batch.amazonaws.com"


class Roles:
    """The task job role (reads the run bucket) and the runner job role (reads and writes it).

    Not a construct of its own: its roles stay children of the stack (see ``stack.py``).
    """

    def __init__(self, stack: Stack, bucket: s3.IBucket) -> None:
        self.bucket = bucket
        # The role of every task job: tasks run bash on the shared file system (prepare
        # localized their inputs); they may read the run bucket.
        self.job_role = iam.Role(
            stack,
            "TaskJobRole",
            assumed_by=iam.ServicePrincipal(ECS_TASKS),
            description="wdl2sfn task jobs (Batch): read the run bucket",
        )
        grant_bucket(bucket, self.job_role, write=False)
        self.runner_role = iam.Role(
            stack,
            "RunnerJobRole",
            assumed_by=iam.ServicePrincipal(ECS_TASKS),
            description="wdl2sfn runner jobs (Batch): upload, and with FSx the run-time steps",
        )
        grant_bucket(bucket, self.runner_role)
        for role in (self.job_role, self.runner_role):
            acknowledge_run_objects(role, bucket)


def grant_bucket(bucket: s3.IBucket, grantee: iam.IGrantable, *, write: bool = True) -> None:
    """List the run bucket and read (and, with ``write``, write) its objects."""
    writes = [
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    ]
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[bucket.bucket_arn]
        )
    )
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject", "s3:GetObjectTagging"] + (writes if write else []),
            resources=[bucket.arn_for_objects("*")],
        )
    )


def acknowledge_run_objects(grantee: IConstruct, bucket: s3.IBucket) -> None:
    """The finding every grantee of :func:`grant_bucket` raises, for the same reason."""
    logical_id = Stack.of(grantee).get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
    ack(
        grantee,
        f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]",
        "Run files have per-run keys under the run bucket; access is limited to that bucket.",
    )


def grant_answer_joins(grantee: iam.IGrantable) -> None:
    """Exact joins: the eval step answers waiting units' task tokens (SendTaskSuccess)."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
            resources=["*"],  # task tokens: no resource-level permission
        )
    )


def grant_register_job_definitions(
    stack: Stack, grantee: iam.IGrantable, job_role: iam.IRole
) -> None:
    """What prepare needs to register content-hashed task job definitions."""
    principal = grantee.grant_principal
    job_definitions = stack.format_arn(
        service="batch", resource="job-definition", resource_name=f"{JOB_DEFINITION_PREFIX}*"
    )
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["batch:RegisterJobDefinition"], resources=[job_definitions])
    )
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["batch:DescribeJobDefinitions"], resources=["*"])
    )
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[job_role.role_arn],
            # The role is passed to Batch's RegisterJobDefinition (the API that receives it; IAM
            # user guide, id_roles_use_passrole: "When a user passes a role ARN as a parameter to
            # any API that uses the role to assign permissions to the service, the service checks
            # whether that user has the iam:PassRole permission"); ECS tasks assume it later.
            # Batch's own example (ExamplePolicies_BATCH, "restricts a user to passing only a
            # specific role to a job definition") scopes by the role alone.
            conditions={"StringEquals": {"iam:PassedToService": [BATCH, ECS_TASKS]}},
        )
    )


def acknowledge_registrar(grantee: IConstruct) -> None:
    """The findings of whoever runs prepare (a Lambda function, or with FSx the runner role)."""
    ack(
        grantee,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:"
        f"<AWS::AccountId>:job-definition/{JOB_DEFINITION_PREFIX}*]",
        "prepare registers one content-hashed job definition wdl2sfn-<hash> per task image.",
    )


def acknowledge_unscoped_actions(grantee: IConstruct) -> None:
    """Whoever runs the run-time steps uses actions that name no resource."""
    ack(
        grantee,
        "AwsSolutions-IAM5[Resource::*]",
        "xray:PutTraceSegments/PutTelemetryRecords, batch:DescribeJobDefinitions and "
        "states:SendTaskSuccess/SendTaskFailure support no resource-level permission.",
    )


def grant_extra_buckets(
    stack: Stack, config: Config, readers: list[Any], writer: iam.IGrantable
) -> None:
    """Context ``read_buckets`` (S3 inputs: prepare localizes them, tasks may read them) and
    ``write_buckets`` (``--s3upload`` destinations outside the run bucket: the runner)."""
    for name in config.read_buckets:
        for grantee in readers:
            _grant_other_bucket(stack, grantee, name, write=False)
    for name in config.write_buckets:
        _grant_other_bucket(stack, writer, name, write=True)
    if config.kms_key_arns:
        for grantee in readers:
            _grant_keys(grantee, config.kms_key_arns, write=grantee is writer)


def _grant_keys(grantee: Any, keys: tuple[str, ...], *, write: bool) -> None:
    """SSE-KMS objects (S3 user guide, UsingKMSEncryption: "To upload or download an object
    encrypted with an AWS KMS key to or from Amazon S3, you need kms:GenerateDataKey and
    kms:Decrypt permissions on the key"): readers decrypt, the writer also generates data
    keys; on context ``kms_key_arns`` only."""
    actions = ["kms:Decrypt"] + (["kms:GenerateDataKey"] if write else [])
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=actions, resources=list(keys))
    )


def _grant_other_bucket(stack: Stack, grantee: Any, name: str, *, write: bool) -> None:
    arn = f"arn:{Aws.PARTITION}:s3:::{name}"
    actions = ["s3:GetObject"] + (["s3:PutObject", "s3:AbortMultipartUpload"] if write else [])
    principal = grantee.grant_principal
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[arn])
    )
    principal.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[f"{arn}/*"]))
    ack(
        grantee if isinstance(grantee, Construct) else stack,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{name}/*]",
        f"Objects of bucket {name}, named in context {'write' if write else 'read'}_buckets.",
    )
