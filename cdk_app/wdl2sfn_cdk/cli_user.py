"""The managed policy for people and CI jobs that run the ``wdl2sfn`` CLI against this stack,
exported as ``CliUserPolicyArn`` (attach it to a user, group or role; the operator's
administrator rights stay for ``cdk deploy``).

The document comes from :func:`.cli_policy.cli_policy`, the same function that prints the policy
docs/aws-backend.md shows, so the two cannot drift.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput
from aws_cdk import aws_iam as iam

from .cli_policy import CliPolicyScope, cli_policy
from .nag import ack

WILDCARDS = (
    "Executions, Map Runs and the machines `wdl2sfn deploy` creates are named "
    "<stack>-<workflow>[:<run>] at deploy and run time; bundles and run outputs are per run under "
    "the run bucket; batch:DescribeJobs/TerminateJob support no resource-level permission; the "
    "runner job definition's revision changes with each stack update."
)


class CliUserPolicy:
    """``policy`` (an ``iam.ManagedPolicy``) and its output ``CliUserPolicyArn``."""

    def __init__(self, stack: Any) -> None:
        scope = CliPolicyScope(
            partition=Aws.PARTITION,
            region=Aws.REGION,
            account=Aws.ACCOUNT_ID,
            stack=stack.stack_name,
            bucket=stack.bucket.bucket_name,
            runner_queue_arn=stack.queues["runner"].job_queue_arn,
            machine_role_arn=stack.exports.deploy_role.role_arn,
        )
        self.policy = iam.ManagedPolicy(
            stack,
            "CliUserPolicy",
            description="What the wdl2sfn CLI calls: deploy, run, list, status, logs, outputs, "
            "files, stop, resume",
            document=iam.PolicyDocument.from_json(cli_policy(scope)),
        )
        CfnOutput(
            stack,
            "CliUserPolicyArn",
            value=self.policy.managed_policy_arn,
            description="managed policy for users of the wdl2sfn CLI (attach to a user or role)",
        )
        self._acknowledge(stack)

    def _acknowledge(self, stack: Any) -> None:
        """Each wildcard resource, as cdk-nag names it (tokens as ``<AWS::Region>``...)."""
        bucket = stack.get_logical_id(stack.bucket.node.default_child)
        named = CliPolicyScope(
            partition="<AWS::Partition>",
            region="<AWS::Region>",
            account="<AWS::AccountId>",
            stack=stack.stack_name,
            bucket=f"<{bucket}>",
        )
        for statement in cli_policy(named)["Statement"]:
            resources = statement["Resource"]
            for resource in [resources] if isinstance(resources, str) else resources:
                if "*" in resource:
                    ack(self.policy, f"AwsSolutions-IAM5[Resource::{resource}]", WILDCARDS)
