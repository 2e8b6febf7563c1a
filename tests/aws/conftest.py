"""A moto server (a real HTTP endpoint) with fake wdl2sfn stacks, and the CLI run against it.

The stacks are made with CloudFormation itself: a run bucket, a Step Functions role and one output
per placeholder holding a fake ARN, so `deploy` reads them exactly as from a CDK-deployed stack.
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


def stack_template(*, role: bool = True, fsx: bool = False) -> dict[str, Any]:
    outputs: dict[str, Any] = {
        f"{f}FunctionArn": {
            "Value": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:wdl2sfn-{f.lower()}"
        }
        for f in FUNCTIONS
        if not fsx
    }
    for q in QUEUES:
        outputs[f"{q}QueueArn"] = {
            "Value": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/wdl2sfn-{q.lower()}"
        }
    outputs["RunnerJobDefinitionArn"] = {
        "Value": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/wdl2sfn-runner:1"
    }
    outputs["RunBucket"] = {"Value": {"Ref": "RunBucket"}}
    resources: dict[str, Any] = {"RunBucket": {"Type": "AWS::S3::Bucket"}}
    if role:
        resources["StateMachineRole"] = {
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
        outputs["StateMachineRoleArn"] = {"Value": {"Fn::GetAtt": ["StateMachineRole", "Arn"]}}
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
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(stack_template()))
    cfn.create_stack(
        StackName=STACK_WITHOUT_ROLE, TemplateBody=json.dumps(stack_template(role=False))
    )
    cfn.create_stack(StackName=STACK_FSX, TemplateBody=json.dumps(stack_template(fsx=True)))
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
