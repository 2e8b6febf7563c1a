"""The stack's machines (``wdl2sfn/contract/calls.py``): the call machine
(``<stack>-wdl2sfn-call``), of which every call of every workflow is an execution, the start
machine (``<stack>-wdl2sfn-start``: each run's init) and the finish machine
(``<stack>-wdl2sfn-finish``: each run's outputs and upload). Their states are deployed once per
stack instead of once per call or workflow.

Direct children of the stack like the other parts (``stack.py``). Each one's role allows what
its definition does: invoke its functions (EFS), or submit runner jobs and read their results
from the run bucket (FSx); submit and follow Batch jobs. Workflow machines are granted
``states:StartExecution`` on them and ``DescribeExecution``/``StopExecution`` on their
executions (``state_machine.py``, ``permissions.machine_statements``).
"""

from __future__ import annotations

import json
from typing import Any, cast

from aws_cdk import CfnElement, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from wdl2sfn.contract import (
    CALL_MACHINE,
    CALL_MACHINE_NAME,
    FINISH_MACHINE,
    FINISH_MACHINE_NAME,
    START_MACHINE,
    START_MACHINE_NAME,
    machine_name,
)

from . import compile as compile_mod
from .config import FUNCTION_PLACEHOLDERS
from .nag import ack
from .permissions import machine_statements

#: placeholder -> (construct id prefix, name after the stack's)
STACK_MACHINES = {
    CALL_MACHINE: ("CallMachine", CALL_MACHINE_NAME),
    FINISH_MACHINE: ("FinishMachine", FINISH_MACHINE_NAME),
    START_MACHINE: ("StartMachine", START_MACHINE_NAME),
}


def stack_machines(stack: Any, placeholders: dict[str, str]) -> dict[str, StackMachine]:
    """The stack's machines for its file system, by the placeholder naming each."""
    definitions = compile_mod.stack_machine_definitions(stack.config.filesystem)
    return {
        placeholder: StackMachine(stack, *STACK_MACHINES[placeholder], definition, placeholders)
        for placeholder, definition in definitions.items()
    }


class StackMachine:
    """``machine`` (its ``name`` as deployed), built from the stack's placeholders."""

    def __init__(
        self,
        stack: Any,
        construct_id: str,
        suffix: str,
        definition: dict[str, Any],
        placeholders: dict[str, str],
    ) -> None:
        self.name = machine_name(stack.stack_name, suffix)
        self.construct_id = construct_id
        text = json.dumps(definition)
        used = {p: v for p, v in placeholders.items() if "${" + p + "}" in text}
        functions = [
            stack.functions[step].function_arn
            for step, ph in FUNCTION_PLACEHOLDERS.items()
            if ph in used and step in stack.functions
        ]
        role = iam.Role(
            stack,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"wdl2sfn stack machine {self.name}",
        )
        statements = machine_statements(stack, stack, [self.name], functions)
        policy = iam.Policy(stack, f"{construct_id}Policy", statements=statements)
        role.attach_inline_policy(policy)
        self.machine = sfn.StateMachine(
            stack,
            construct_id,
            state_machine_name=self.name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(text),
            definition_substitutions=used,
            role=role,
            logs=sfn.LogOptions(
                destination=self._log_group(stack),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),  # fmt: skip
            tracing_enabled=True,
        )
        self.machine.node.add_dependency(policy)
        _acknowledge(stack, [role, policy], self.name)

    def _log_group(self, stack: Stack) -> logs.LogGroup:
        return logs.LogGroup(
            stack,
            f"{self.construct_id}Logs",
            log_group_name=f"/aws/vendedlogs/states/{self.name}",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )


def _acknowledge(stack: Any, holders: list[Any], name: str) -> None:
    bucket = stack.get_logical_id(cast(CfnElement, stack.bucket.node.default_child))
    batch_arn = "arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>"
    states = "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>"
    reasons = {
        "AwsSolutions-IAM5[Resource::*]": "batch:DescribeJobs and the X-Ray/log-delivery "
        "actions support no resource-level permission (Step Functions' documented .sync and "
        "logging policies).",
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]": "FSx runner steps leave their "
        "results under the run bucket, per execution.",
        f"AwsSolutions-IAM5[Resource::{batch_arn}:job-definition/wdl2sfn-*]": "prepare "
        "registers content-hashed job definitions wdl2sfn-<hash> at run time.",
        f"AwsSolutions-IAM5[Resource::{batch_arn}:job/*]": "Job ids are known only at run "
        "time; Step Functions terminates aborted .sync jobs.",
    }
    for sep in (":", "/"):
        reasons[f"AwsSolutions-IAM5[Resource::{states}:execution:{name}{sep}*]"] = (
            "Executions are named at run time."
        )
    for holder in holders:
        for rule, reason in reasons.items():
            ack(holder, rule, reason)
