"""``WdlStateMachine``: one WDL workflow, compiled at synth time, as a Step Functions state machine.

The construct compiles the WDL file with ``wdl2sfn.compiler`` (through :func:`compile.compile_wdl`),
uploads the workflow's sources to ``s3://<RunBucket>/_workflows/<digest>/<relative path>`` and
creates a STANDARD state machine whose ``DefinitionSubstitutions`` resolve every placeholder the
compiler used to resources of a :class:`~wdl2sfn_cdk.stack.Wdl2SfnStack`. Its role allows exactly
what the compiled definition does (DESIGN "Contracts between the parts").
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from wdl2sfn.contract import ALIAS as LIVE_ALIAS
from wdl2sfn.contract import (
    BUNDLE_MARKER,
    CHILD_PREFIX,
    bundle_marker,
    machine_name,
)

from . import compile as compile_mod
from .config import FUNCTION_PLACEHOLDERS, Schedule
from .nag import ack
from .permissions import machine_statements
from .stack import Wdl2SfnStack


class PlaceholderError(ValueError):
    """A compiled workflow names a resource the stack does not provide."""


def _alnum(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


class WdlStateMachine(Construct):
    """A compiled WDL workflow deployed as a Step Functions state machine (and its children).

    ``infra`` provides the placeholders' values; ``trigger`` adds the EventBridge rule starting
    the workflow for every ``inputs/<workflow>/*.json`` object created in the run bucket;
    ``schedule`` adds an EventBridge Scheduler schedule with a fixed inputs object.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        wdl_path: str,
        infra: Wdl2SfnStack,
        trigger: bool = True,
        schedule: Schedule | None = None,
        compiled: Any = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.infra = infra
        filesystem = infra.config.filesystem
        self.compiled = compiled or compile_mod.compile_wdl(wdl_path, filesystem=filesystem)
        self.workflow_name: str = self.compiled.name
        self.sources = self._sources()
        self.children: dict[str, sfn.StateMachine] = {}
        # Parents start children by version, as `wdl2sfn deploy` does (backends/aws/versions.py)
        self.child_versions: dict[str, sfn.CfnStateMachineVersion] = {}
        self._child_names: dict[str, str] = {}
        stack_name = Stack.of(self).stack_name
        self._add_children(self.compiled, stack_name)
        self.state_machine = self._state_machine(self.compiled, "StateMachine")
        self.live = self._live_alias(self.state_machine)
        if trigger:
            self.rule = self._inputs_rule()
            events_role = cast(iam.IRole, self.live.node.find_child("EventsRole"))
            events_role.add_to_principal_policy(start_live_statement(self.state_machine))
        if schedule is not None:
            self.schedule = self._schedule(schedule)

    def _sources(self) -> s3deploy.BucketDeployment:
        """The workflow's sources at ``_workflows/<digest>/`` in the run bucket, with the marker
        init looks for: runs started by EventBridge, Scheduler or the console find the sources
        through it (as `wdl2sfn deploy` uploads it)."""
        return s3deploy.BucketDeployment(
            self,
            "Sources",
            destination_bucket=self.infra.bucket,
            destination_key_prefix=f"_workflows/{self.compiled.digest}/",
            sources=[
                *(
                    s3deploy.Source.data(path, text)
                    for path, text in sorted(self.compiled.sources.items())
                ),
                s3deploy.Source.json_data(BUNDLE_MARKER, bundle_marker(self.compiled)),
            ],
            prune=False,
            retain_on_delete=True,
            memory_limit=256,
        )

    def _inputs_rule(self) -> events.Rule:
        """Start the workflow (its alias ``live``) for every ``inputs/<workflow>/*.json``
        object created in the run bucket."""
        name = self.workflow_name
        return events.Rule(
            self,
            "InputsRule",
            description=f"Start {name} for s3://.../inputs/{name}/*.json",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self.infra.bucket.bucket_name]},
                    "object": {"key": [{"wildcard": f"inputs/{name}/*.json"}]},
                },
            ),
            targets=[targets.SfnStateMachine(self.live)],
        )

    def _schedule(self, schedule: Schedule) -> scheduler.Schedule:
        """Start the workflow (its alias ``live``) on a schedule, with fixed inputs."""
        return scheduler.Schedule(
            self,
            "Schedule",
            description=f"Start {self.workflow_name} on {schedule.expression}",
            schedule=scheduler.ScheduleExpression.expression(
                schedule.expression, time_zone=TimeZone.of(schedule.timezone)
            ),
            target=_StartLive(
                self.live,
                self.state_machine,
                input=scheduler.ScheduleTargetInput.from_object({"inputs": schedule.inputs}),
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            ),
        )

    def _live_alias(self, machine: sfn.StateMachine) -> sfn.IStateMachine:
        """A version of every revision (kept when the next replaces it: the ones to roll back
        to) and the alias ``live`` on the newest, as `wdl2sfn deploy` publishes them; the
        triggers start ``live``, so `wdl2sfn deploy --rollback` rolls them back too."""
        version = self._version(machine, "Version", self.compiled.digest)
        alias = sfn.CfnStateMachineAlias(
            self,
            "LiveAlias",
            name=LIVE_ALIAS,
            description="the version wdl2sfn runs start on",
            routing_configuration=[
                sfn.CfnStateMachineAlias.RoutingConfigurationVersionProperty(
                    state_machine_version_arn=version.attr_arn, weight=100
                )
            ],
        )
        return sfn.StateMachine.from_state_machine_arn(self, "Live", alias.attr_arn)

    def _version(
        self, machine: sfn.StateMachine, construct_id: str, digest: str
    ) -> sfn.CfnStateMachineVersion:
        """A version of the machine's revision, kept when the next replaces it (the one a
        rollback goes back to)."""
        version = sfn.CfnStateMachineVersion(
            self,
            construct_id,
            state_machine_arn=machine.state_machine_arn,
            state_machine_revision_id=machine.state_machine_revision_id,
            description=f"wdl2sfn {digest}",
        )
        version.apply_removal_policy(RemovalPolicy.RETAIN)
        return version

    def _add_children(self, compiled: Any, stack_name: str) -> None:
        """Child machines depth first: a child's own children (definition parts, nested
        subworkflows) must exist before its definition can name their ARNs."""
        for child_name, child in sorted(compiled.children.items()):
            if child_name in self.children:
                continue
            self._add_children(child, stack_name)
            self._child_names[child_name] = machine_name(stack_name, child.name)
            construct_id = f"Child{_alnum(child_name)}"
            self.children[child_name] = self._state_machine(child, construct_id)
            self.child_versions[child_name] = self._version(
                self.children[child_name], f"{construct_id}Version", child.digest
            )

    # ------------------------------------------------------------------------
    def _substitutions(self, compiled: Any) -> dict[str, str]:
        available = dict(self.infra.placeholders)
        for child_name, version in self.child_versions.items():
            available[f"{CHILD_PREFIX}{child_name}"] = version.attr_arn
        missing = [p for p in compiled.placeholders if p not in available]
        if missing:
            hint = ""
            if self.infra.config.filesystem == "fsx" and any(
                p.endswith("FunctionArn") for p in missing
            ):
                hint = " (with FSx the run-time steps must run as runner Batch jobs, not Lambda)"
            raise PlaceholderError(
                f"workflow {compiled.name!r} uses placeholders the {self.infra.config.variant} "
                f"stack does not provide: {', '.join(missing)}{hint}"
            )
        return {p: available[p] for p in compiled.placeholders}

    def _state_machine(self, compiled: Any, construct_id: str) -> sfn.StateMachine:
        stack = Stack.of(self)
        infra = self.infra
        # A fixed name lets the role name the state machine's own ARN without a cycle.
        name = machine_name(stack.stack_name, compiled.name)
        placeholders = set(compiled.placeholders)
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"wdl2sfn state machine {name}",
        )
        functions = [
            infra.functions[step].function_arn
            for step, ph in FUNCTION_PLACEHOLDERS.items()
            if ph in placeholders and step in infra.functions
        ]
        # its own Map Run children, and the machines it starts (subworkflows, parts): their
        # names as deployed, so a part that starts its own parts may do so
        children = [machine_name(stack.stack_name, c.name) for c in compiled.children.values()]
        children += [m.name for p, m in infra.stack_machines.items() if p in placeholders]
        statements = machine_statements(stack, infra, [name, *children], functions)
        policy = iam.Policy(self, f"{construct_id}Policy", statements=statements)
        role.attach_inline_policy(policy)

        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        machine = sfn.StateMachine(
            self,
            construct_id,
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(compiled.definition)),
            definition_substitutions=self._substitutions(compiled),
            role=role,
            logs=sfn.LogOptions(
                destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
        )
        machine.node.add_dependency(policy)
        self._acknowledge(role, policy, stack, name)
        return machine

    def _acknowledge(self, role: iam.Role, policy: iam.Policy, stack: Stack, name: str) -> None:
        bucket = stack.get_logical_id(cast(CfnElement, self.infra.bucket.node.default_child))
        reasons = {
            "AwsSolutions-IAM5[Resource::*]": (
                "batch:DescribeJobs and the X-Ray/log-delivery actions support no resource-level "
                "permission (Step Functions' documented .sync and logging policies)."
            ),
            f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]": (
                "Distributed Map ItemReader/ResultWriter keys are per run under the run bucket."
            ),
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job-definition/wdl2sfn-*]": (
                "prepare registers content-hashed job definitions wdl2sfn-<hash> at run time."
            ),
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job/*]": (
                "Job ids are known only at run time; Step Functions terminates aborted .sync jobs."
            ),
        }
        shared = [m.name for m in self.infra.stack_machines.values()]
        for n in [name, *self._child_names.values(), *shared]:
            for sep in (":", "/"):
                reasons[
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
                    f"<AWS::AccountId>:execution:{n}{sep}*]"
                ] = "Distributed Map child and subworkflow executions are named at run time."
        for rule, reason in reasons.items():
            ack(role, rule, reason)
            ack(policy, rule, reason)


def start_live_statement(machine: sfn.IStateMachine) -> iam.PolicyStatement:
    """StartExecution of the alias ``live``, granted as AWS authorizes it. Step Functions
    developer guide ("auth-version-alias"): "To authorize a version or an alias to invoke an API
    action, Step Functions uses the state machine's ARN instead of using the version ARN or alias
    ARN." -- a grant on the alias ARN alone (what the CDK targets write) is denied; the qualifier
    condition ("the optional context key named states:StateMachineQualifier") keeps it to ``live``."""
    return iam.PolicyStatement(
        actions=["states:StartExecution"],
        resources=[machine.state_machine_arn],
        conditions={"StringEquals": {"states:StateMachineQualifier": LIVE_ALIAS}},
    )


class _StartLive(scheduler_targets.StepFunctionsStartExecution):
    """The Scheduler target on ``live`` whose role is granted the machine's ARN
    (:func:`start_live_statement`) instead of the alias ARN the CDK would grant."""

    def __init__(self, live: sfn.IStateMachine, machine: sfn.IStateMachine, **kwargs: Any) -> None:
        super().__init__(live, **kwargs)
        self._statement = start_live_statement(machine)

    def _add_target_action_to_role(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(self._statement)
