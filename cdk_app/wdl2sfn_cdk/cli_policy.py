"""The CLI user's policy: what ``wdl2sfn deploy/run/list/status/logs/outputs/files/stop/resume``
call as a person (or CI job) holding it, as data.

One function builds it for two readers: the stack (``cli_user.py``: a managed policy exported as
``CliUserPolicyArn``, with CloudFormation tokens for the names) and the docs
(``python -m wdl2sfn_cdk.cli_policy`` prints it with the placeholders docs/aws-backend.md shows),
so the documented policy is the deployed one. ``rehearse --serve`` hands out keys of a user bound
to it, and the journey tests run every CLI command under them.

Pure Python: no aws_cdk import, so the docs generator runs without synthesizing a stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

RUNNER_PREFIX = "wdl2sfn-runner-"
BATCH_LOG_GROUP = "/aws/batch/job"


@dataclass(frozen=True)
class CliPolicyScope:
    """The names the policy grants on; the docs use the placeholder words as values."""

    partition: str = "aws"
    region: str = "REGION"
    account: str = "ACCOUNT"
    stack: str = "STACK"
    bucket: str = "RUN_BUCKET"
    runner_queue_arn: str = "RUNNER_QUEUE_ARN"
    machine_role_arn: str = "STATE_MACHINE_ROLE_ARN"

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        where = f"{self.region}:{self.account}" if regional else ":"
        return f"arn:{self.partition}:{service}:{where}:{resource}"


def _allow(actions: str | list[str], resources: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def _bucket(s: CliPolicyScope) -> list[dict[str, Any]]:
    """Bundles under ``_workflows/`` (deploy writes, run reads), inputs shipped to
    ``inputs-data/``, each run's ``runs/`` outputs and the ``files`` step's answers; ListBucket
    makes a missing object a 404, not a 403."""
    objects = f"arn:{s.partition}:s3:::{s.bucket}"
    return [
        _allow("s3:ListBucket", objects),
        _allow(
            ["s3:GetObject", "s3:PutObject"],
            [f"{objects}/_workflows/*", f"{objects}/runs/*", f"{objects}/inputs-data/*"],
        ),
        _allow("s3:GetObject", f"{objects}/_steps/files/*"),
    ]


def _machines(s: CliPolicyScope) -> list[dict[str, Any]]:
    """Machines ``deploy`` creates are ``<stack>-<workflow>``; executions, Map Runs under them."""
    machines = s.arn("states", f"stateMachine:{s.stack}-*")
    executions = s.arn("states", f"execution:{s.stack}-*:*")
    deploy = ["states:CreateStateMachine", "states:UpdateStateMachine",
              "states:DescribeStateMachine", "states:TagResource", "states:ListTagsForResource",
              "states:StartExecution",
              "states:PublishStateMachineVersion", "states:ListStateMachineVersions",
              "states:CreateStateMachineAlias", "states:UpdateStateMachineAlias",
              "states:DescribeStateMachineAlias", "states:ListExecutions"]  # fmt: skip
    follow = ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution",
              "states:ListMapRuns", "states:RedriveExecution"]  # fmt: skip
    return [
        _allow("states:ListStateMachines", "*"),
        _allow(deploy, [machines, f"{machines}:*"]),
        _allow(follow, executions),
        # ListExecutions names a Map Run (status counts a distributed Map's children) or a machine
        _allow(
            ["states:DescribeMapRun", "states:ListExecutions"],
            s.arn("states", f"mapRun:{s.stack}-*/*"),
        ),
        _allow(
            "iam:PassRole",
            s.machine_role_arn,
            Condition={"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}},
        ),
    ]


def _batch_and_logs(s: CliPolicyScope) -> list[dict[str, Any]]:
    """``files`` submits the runner job; ``status``/``logs`` read jobs and their log streams;
    ``stop`` terminates jobs (DescribeJobs/TerminateJob support no resource-level permission)."""
    runner = s.arn("batch", f"job-definition/{RUNNER_PREFIX}{s.stack}:*")
    return [
        _allow(["batch:DescribeJobs", "batch:TerminateJob"], "*"),
        _allow("batch:SubmitJob", [s.runner_queue_arn, runner]),
        _allow("logs:GetLogEvents", s.arn("logs", f"log-group:{BATCH_LOG_GROUP}:*")),
        _allow("lambda:GetFunctionConfiguration", s.arn("lambda", f"function:{s.stack}-*")),
        _allow("cloudformation:DescribeStacks", s.arn("cloudformation", f"stack/{s.stack}/*")),
    ]


def cli_policy(scope: CliPolicyScope | None = None) -> dict[str, Any]:
    """The policy document the stack exports as ``CliUserPolicyArn``."""
    s = scope or CliPolicyScope()
    return {"Version": "2012-10-17", "Statement": _bucket(s) + _machines(s) + _batch_and_logs(s)}


def render(policy: dict[str, Any]) -> str:
    """One statement a line, as docs/aws-backend.md shows it (and a test compares)."""
    lines = [json.dumps(statement) for statement in policy["Statement"]]
    body = ",\n  ".join(lines)
    return f'{{"Version": "2012-10-17", "Statement": [\n  {body}\n]}}\n'


if __name__ == "__main__":
    print(render(cli_policy()), end="")
