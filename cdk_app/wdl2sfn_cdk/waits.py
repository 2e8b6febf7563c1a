"""FSx exact joins: a wait job that fails before it can answer its task token fails its run.

With FSx an exact join's wait is a runner job started by
``aws-sdk:batch:submitJob.waitForTaskToken``; the job registers its token and the release answers
it. A job that never reaches Python (image pull, lost host, out of memory, cancelled while
RUNNABLE) answers nothing, and the state would hold until its ``TimeoutSeconds``. AWS Batch
sends a "Batch Job State Change" event when the job ends FAILED; its ``detail`` "resembles the
JobDetail object that's returned from a DescribeJobs API operation" (AWS Batch user guide, "Job
state change events", https://docs.aws.amazon.com/batch/latest/userguide/batch_job_events.html),
so it carries the job's ``parameters``, where the wait holds its token
(``contract.JOIN_TOKEN_PARAMETER``). A rule on that event starts a one-state Express machine that
answers the token with SendTaskFailure naming the job: the run fails in minutes.

Not a construct of its own: its resources stay children of the stack (see ``stack.py``).
"""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from wdl2sfn.contract import JOIN_TOKEN_PARAMETER, WAIT_JOB_NAME

from .nag import ack

#: The error a failed wait job's state fails with.
WAIT_JOB_FAILED = "wdl2sfn.WaitJobFailed"
ANSWER_DEFINITION = {
    "Comment": "Answer an FSx join wait's task token with SendTaskFailure (its job FAILED)",
    "StartAt": "answer",
    "States": {
        "answer": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskFailure",
            "Parameters": {
                "TaskToken.$": "$.token",
                "Error": WAIT_JOB_FAILED,
                "Cause.$": "$.cause",
            },
            "End": True,
        }
    },
}


class FailedWaits:
    """``rule`` (Batch FAILED events of wait jobs on the runner queue) and ``machine`` (the
    Express machine answering their tokens)."""

    def __init__(self, stack: Stack, runner_queue: batch.IJobQueue) -> None:
        log_group = logs.LogGroup(
            stack,
            "FailedWaitsLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.machine = sfn.StateMachine(
            stack,
            "FailedWaits",
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(ANSWER_DEFINITION)),
            logs=sfn.LogOptions(
                destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
        )
        self.machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskFailure"],
                resources=["*"],  # task tokens: no resource-level permission
            )
        )
        self.rule = events.Rule(
            stack,
            "FailedWaitsRule",
            description="Fail an FSx join wait whose Batch job FAILED before answering its token",
            event_pattern=failed_wait_pattern(runner_queue.job_queue_arn),
            targets=[targets.SfnStateMachine(self.machine, input=_answer_input())],
        )
        ack(
            self.machine,
            "AwsSolutions-IAM5[Resource::*]",
            "states:SendTaskFailure supports no resource-level permission (task tokens).",
        )


def failed_wait_pattern(runner_queue_arn: str) -> events.EventPattern:
    """Batch's FAILED job state change of a wait job (its name, its queue, its token)."""
    return events.EventPattern(
        source=["aws.batch"],
        detail_type=["Batch Job State Change"],
        detail={
            "status": ["FAILED"],
            "jobName": [WAIT_JOB_NAME],
            "jobQueue": [runner_queue_arn],
            "parameters": {JOIN_TOKEN_PARAMETER: [{"exists": True}]},
        },
    )


def _answer_input() -> events.RuleTargetInput:
    """The token, and a cause that names the job and Batch's reason."""
    detail = events.EventField.from_path
    return events.RuleTargetInput.from_object(
        {
            "token": detail(f"$.detail.parameters.{JOIN_TOKEN_PARAMETER}"),
            "cause": (
                f"wait job {detail('$.detail.jobName')} ({detail('$.detail.jobId')}) FAILED: "
                f"{detail('$.detail.statusReason')}"
            ),
        }
    )
