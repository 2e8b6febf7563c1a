"""A moto server (a real HTTP endpoint) with fake wdl2sfn stacks, and the CLI run against it.

The stacks are made with CloudFormation itself: a run bucket, a Step Functions role, the stack's
own machines (the start, call and finish machines, built from ``stack_machines`` as the CDK app builds
them) and one output per placeholder: a fake ARN for functions, queues and the runner job
definition, the real ARN of each stack machine, so `deploy` reads them exactly as from a
CDK-deployed stack and an execution can start the stack machines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from wdl2sfn.backends.aws.deploy import substitute
from wdl2sfn.compiler.stack_machines import stack_machines
from wdl2sfn.contract import (
    CALL_MACHINE,
    CALL_MACHINE_NAME,
    FINISH_MACHINE,
    FINISH_MACHINE_NAME,
    ROLE_OUTPUT,
    RUN_BUCKET,
    RUNNER_JOB_DEFINITION,
    STACK_TAG,
    START_MACHINE,
    START_MACHINE_NAME,
    machine_name,
)

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")
requests = pytest.importorskip("requests")

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "wdl2sfn-test"
STACK_WITHOUT_ROLE = "wdl2sfn-norole"
STACK_FSX = "wdl2sfn-fsx"  # no step functions: its run-time steps are runner jobs

FUNCTIONS = ("Init", "Prepare", "Collect", "Eval", "Finalize")
QUEUES = ("Cpu", "Spot", "Gpu", "Runner")
#: placeholder -> (logical id, name after the stack's), as cdk_app/wdl2sfn_cdk/calls.py has them
STACK_MACHINES = {
    CALL_MACHINE: ("CallMachine", CALL_MACHINE_NAME),
    FINISH_MACHINE: ("FinishMachine", FINISH_MACHINE_NAME),
    START_MACHINE: ("StartMachine", START_MACHINE_NAME),
}


def fake_values(*, fsx: bool = False) -> dict[str, str]:
    """The stack's outputs known before it exists: a fake ARN per function, queue and the runner
    job definition (the run bucket's name and the machines' ARNs are CloudFormation's)."""
    values = {
        f"{f}FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:wdl2sfn-{f.lower()}"
        for f in FUNCTIONS
        if not fsx
    }
    for q in QUEUES:
        values[f"{q}QueueArn"] = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/wdl2sfn-{q.lower()}"
    values[RUNNER_JOB_DEFINITION] = (
        f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/wdl2sfn-runner:1"
    )
    return values


def states_role() -> dict[str, Any]:
    """A role Step Functions may assume (no policy: moto does not check them)."""
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "states.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        },
    }


def stack_machine_resources(stack: str, *, fsx: bool) -> dict[str, Any]:
    """The stack's own machines, as the CDK app makes them (cdk_app/wdl2sfn_cdk/calls.py): each
    built by ``stack_machines`` for the stack's file system, with every placeholder substituted
    (the run bucket's name by CloudFormation, ``Fn::Sub``), under a role of its own."""
    filesystem = "fsx" if fsx else "efs"
    values = {**fake_values(fsx=fsx), RUN_BUCKET: "${" + RUN_BUCKET + "}"}
    resources: dict[str, Any] = {}
    for placeholder, definition in stack_machines(filesystem).items():
        construct, suffix = STACK_MACHINES[placeholder]
        text = json.dumps(substitute(definition, values, f"stack machine {suffix}"))
        resources[f"{construct}Role"] = states_role()
        resources[construct] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": machine_name(stack, suffix),
                "DefinitionString": {"Fn::Sub": text},
                "RoleArn": {"Fn::GetAtt": [f"{construct}Role", "Arn"]},
                "Tags": [{"Key": STACK_TAG, "Value": stack}],
            },
        }
    return resources


def stack_template(stack: str, *, role: bool = True, fsx: bool = False) -> dict[str, Any]:
    outputs: dict[str, Any] = {k: {"Value": v} for k, v in fake_values(fsx=fsx).items()}
    outputs[RUN_BUCKET] = {"Value": {"Ref": "RunBucket"}}
    resources: dict[str, Any] = {"RunBucket": {"Type": "AWS::S3::Bucket"}}
    resources.update(stack_machine_resources(stack, fsx=fsx))
    for placeholder, (construct, _) in STACK_MACHINES.items():
        outputs[placeholder] = {"Value": {"Ref": construct}}  # a machine's Ref is its ARN
    if role:
        resources["StateMachineRole"] = states_role()
        outputs[ROLE_OUTPUT] = {"Value": {"Fn::GetAtt": ["StateMachineRole", "Arn"]}}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources, "Outputs": outputs}


@dataclass
class Moto:
    url: str
    env: dict[str, str]

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def outputs(self, stack: str = STACK) -> dict[str, str]:
        found = self.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in found["Outputs"]}

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def execute_state_machines(self, on: bool) -> None:
        requests.post(
            f"{self.url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": on}},
            timeout=10,
        ).raise_for_status()

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wdl2sfn.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    from wdl2sfn.backends.rehearsal import versions

    versions.install()  # moto lacks PublishStateMachineVersion and runs on an alias (deploy needs)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    nowhere = str(tmp_path_factory.mktemp("aws") / "none")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("WDL2SFN_STACK", "WDL2SFN_BACKEND")
    }
    env.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=nowhere,
        AWS_SHARED_CREDENTIALS_FILE=nowhere,
        WDL2SFN_POLL_SECONDS="0.1",
    )
    m = Moto(url, env)
    m.reset()  # moto's backends are per process: start clean, whoever ran before
    cfn = m.client("cloudformation")
    for stack, role, fsx in ((STACK, True, False), (STACK_WITHOUT_ROLE, False, False),
                             (STACK_FSX, True, True)):  # fmt: skip
        template = stack_template(stack, role=role, fsx=fsx)
        cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    try:
        yield m
    finally:
        m.reset()
        server.stop()
        versions.uninstall()


@pytest.fixture
def executing(moto: Moto) -> Iterator[Moto]:
    """moto runs the ASL of executions started while this fixture is active."""
    moto.execute_state_machines(True)
    try:
        yield moto
    finally:
        moto.execute_state_machines(False)
