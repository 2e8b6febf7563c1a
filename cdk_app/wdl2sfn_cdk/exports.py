"""What ``wdl2sfn deploy`` reads from the stack: one output per compiler placeholder (named
exactly as the placeholder), the file system, the task job role and ``StateMachineRoleArn``, the
role of the machines it creates.

Not a construct of its own: its resources stay children of the stack, so the outputs keep their
names and the role its logical ID (see ``stack.py``).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_batch as batch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from wdl2sfn.contract import RUN_BUCKET, RUNNER_JOB_DEFINITION

from .config import FUNCTION_PLACEHOLDERS, QUEUE_PLACEHOLDERS
from .nag import ack
from .permissions import machine_statements


def placeholder_values(
    queues: dict[str, batch.JobQueue],
    runner_job_definition: batch.EcsJobDefinition,
    bucket: s3.IBucket,
    functions: dict[str, lambda_.IFunction],
) -> dict[str, str]:
    """Every placeholder the stack resolves, to the value it substitutes."""
    values = {QUEUE_PLACEHOLDERS[k]: q.job_queue_arn for k, q in queues.items()}
    values[RUNNER_JOB_DEFINITION] = runner_job_definition.job_definition_arn
    values[RUN_BUCKET] = bucket.bucket_name
    for step, fn in functions.items():
        values[FUNCTION_PLACEHOLDERS[step]] = fn.function_arn
    return values


class Exports:
    """``deploy_role`` (with its inline policy ``deploy_policy``) and the stack's outputs.

    ``stack`` is the :class:`~wdl2sfn_cdk.stack.Wdl2SfnStack` once its queues, bucket and
    functions exist: the deploy role allows what any compiled machine of it needs
    (:mod:`.permissions`), for machines named ``<stack>-*`` (they start each other:
    subworkflows and definition parts).
    """

    def __init__(self, stack: Any, *, fs_id: str, job_role: iam.IRole) -> None:
        self.stack = stack
        functions = [fn.function_arn for fn in stack.functions.values()]
        self.deploy_role = iam.Role(
            stack,
            "StateMachineRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="wdl2sfn state machines created by `wdl2sfn deploy`",
        )
        statements = machine_statements(stack, stack, [f"{stack.stack_name}-*"], functions)
        self.deploy_policy = iam.Policy(stack, "StateMachineRolePolicy", statements=statements)
        self.deploy_role.attach_inline_policy(self.deploy_policy)
        for name, value in stack.placeholders.items():
            CfnOutput(stack, name, value=value, description=f"wdl2sfn placeholder ${{{name}}}")
        CfnOutput(stack, "FileSystemId", value=fs_id)
        CfnOutput(
            stack,
            "StateMachineRoleArn",
            value=self.deploy_role.role_arn,
            description="role of the state machines `wdl2sfn deploy` creates",
        )
        CfnOutput(stack, "TaskJobRoleArn", value=job_role.role_arn)
        self._acknowledge(stack.bucket)

    def _acknowledge(self, bucket: s3.IBucket) -> None:
        stack_name = self.stack.stack_name
        logical_id = self.stack.get_logical_id(bucket.node.default_child)
        states = "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>"
        batch_arn = "arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>"
        reasons = {
            "AwsSolutions-IAM5[Resource::*]": "batch:DescribeJobs supports no resource-level "
            "permission (Step Functions' documented .sync policy).",
            f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]": "Distributed Map item and "
            "result files are per run under the run bucket.",
            f"AwsSolutions-IAM5[Resource::{batch_arn}:job-definition/wdl2sfn-*]": "prepare "
            "registers content-hashed job definitions wdl2sfn-<hash> at run time.",
            f"AwsSolutions-IAM5[Resource::{batch_arn}:job/*]": "Job ids are known only at run "
            "time; Step Functions terminates aborted .sync jobs.",
            f"AwsSolutions-IAM5[Resource::{states}:stateMachine:{stack_name}-*]": "Machines "
            "`wdl2sfn deploy` creates are named <stack>-<workflow> and start each other "
            "(subworkflows, definition parts).",
        }
        for sep in (":", "/"):
            reasons[f"AwsSolutions-IAM5[Resource::{states}:execution:{stack_name}-*{sep}*]"] = (
                "Executions, Map Run children and subworkflow executions are named at run time."
            )
        for rule, reason in reasons.items():
            ack(self.deploy_role, rule, reason)
            ack(self.deploy_policy, rule, reason)
