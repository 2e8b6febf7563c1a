"""What a wdl2sfn state machine's role must allow: the policy statements, shared by each CDK-
deployed machine's own role and by the stack's role for machines ``wdl2sfn deploy`` creates.

A compiled machine (DESIGN "Contracts between the parts") invokes the run-time functions, submits
Batch jobs to the stack's queues with ``wdl2sfn-*`` job definitions and follows them (``.sync``),
reads and writes Distributed Map item and result files in the run bucket, starts its own Map Run
children (``execution:<name>/<map>:<id>``), redrives them when its execution is redriven and, when it has child machines (subworkflows or
definition parts), starts them with ``startExecution.sync:2`` (``execution:<child>:<id>``) and
follows them through the managed EventBridge rule.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam

from .access import JOB_DEFINITION_PREFIX
from .config import QUEUE_PLACEHOLDERS

# The managed EventBridge rules behind the .sync integrations (Step Functions IAM docs).
BATCH_SYNC_RULE = "StepFunctionsGetEventsForBatchJobsRule"
SFN_SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"


def machine_statements(
    stack: Stack, infra: Any, machines: list[str], functions: list[str]
) -> list[iam.PolicyStatement]:
    """Statements for machines named ``machines`` (patterns allowed: ``stack-*``) that may start
    each other (a machine and its children), invoking ``functions``."""
    statements = _batch(stack, infra) + _bucket(infra)
    if functions:
        statements.append(
            iam.PolicyStatement(
                sid="InvokeSteps", actions=["lambda:InvokeFunction"], resources=functions
            )
        )
    statements.append(
        iam.PolicyStatement(
            sid="SyncIntegrationRules",
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources=[
                stack.format_arn(service="events", resource="rule", resource_name=rule)
                for rule in (BATCH_SYNC_RULE, SFN_SYNC_RULE)
            ],
        )
    )
    statements += _executions(stack, machines)
    return statements


def _batch(stack: Stack, infra: Any) -> list[iam.PolicyStatement]:
    # prepare picks the queue at run time (cpu, spot, gpu; runner for upload and, with FSx,
    # the run-time steps), so the role may submit to every queue of this stack and no other.
    queue_arns = [infra.queues[key].job_queue_arn for key in QUEUE_PLACEHOLDERS]
    job_definitions = stack.format_arn(
        service="batch", resource="job-definition", resource_name=f"{JOB_DEFINITION_PREFIX}*"
    )
    return [
        iam.PolicyStatement(
            sid="SubmitBatchJobs",
            actions=["batch:SubmitJob"],
            resources=[*queue_arns, job_definitions],
        ),
        iam.PolicyStatement(
            sid="FollowBatchJobs",
            actions=["batch:DescribeJobs"],
            resources=["*"],  # DescribeJobs supports no resource-level permission
        ),
        iam.PolicyStatement(
            sid="TerminateBatchJobs",
            actions=["batch:TerminateJob"],
            resources=[stack.format_arn(service="batch", resource="job", resource_name="*")],
        ),
    ]


def _bucket(infra: Any) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="DistributedMapBucket",
            actions=["s3:ListBucket"],
            resources=[infra.bucket.bucket_arn],
        ),
        iam.PolicyStatement(
            sid="DistributedMapObjects",
            actions=[
                "s3:GetObject",
                "s3:PutObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            resources=[infra.bucket.arn_for_objects("*")],
        ),
    ]


def _executions(stack: Stack, machines: list[str]) -> list[iam.PolicyStatement]:
    """StartExecution of the machines; Describe/Stop of their executions, Map Run children
    (``name/map:id``) and ``.sync:2`` children (``name:id``) alike."""

    def arn(resource: str, name: str) -> str:
        return stack.format_arn(
            service="states",
            resource=resource,
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    return [
        iam.PolicyStatement(
            sid="StartExecutions",
            actions=["states:StartExecution"],
            resources=[arn("stateMachine", n) for n in machines],
        ),
        iam.PolicyStatement(
            sid="FollowExecutions",
            actions=["states:DescribeExecution", "states:StopExecution"],
            resources=[arn("execution", f"{n}{sep}*") for n in machines for sep in (":", "/")],
        ),
        # Step Functions developer guide, redrive-map-run, "IAM permission to redrive a Map
        # Run": the least privilege "required to your state machine for redriving a Map Run" is
        # states:RedriveExecution on execution:myStateMachineName/myMapRunLabel:* -- `resume`
        # redrives the parent, and the parent redrives its failed Map Runs' children.
        iam.PolicyStatement(
            sid="RedriveMapRuns",
            actions=["states:RedriveExecution"],
            resources=[arn("execution", f"{n}/*") for n in machines],
        ),
    ]
