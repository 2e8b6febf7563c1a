"""The AWS rehearsal through the CLI: `wdl2sfn rehearse WF.wdl` (one shot) and `--serve`.

Each rehearsal synthesizes the CDK app, creates the stack in moto's server and runs executions
on the local executor with the template's own roles, environments, job definitions and mounts.
Tests read what a rehearsal leaves in its folder: `aws-calls.jsonl`, `job-definitions.json`,
`templates/`, `batch-logs/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_wdl"
FIXTURES = REPO / "tests" / "fixtures" / "rehearsal"
VARIANTS: dict[str, list[str]] = {
    "new-vpc": [],
    "existing-vpc": [
        "-c", "variant=existing-vpc", "-c", "vpc_id=vpc-0123456789abcdef0",
        "-c", "subnet_ids=subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2",
        "-c", "availability_zones=us-east-1a,us-east-1b",
    ],
    "fsx": ["-c", "variant=fsx"],
}  # fmt: skip


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without AWS's and wdl2sfn's settings. Batch jobs run as host processes
    (WDL2SFN_CONTAINER=host): these workflows name Docker Hub images, which a machine with an
    engine but no way out cannot pull; tests/containers/ rehearses in local images."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WDL2SFN_"))}
    env.update(WDL2SFN_POLL_SECONDS="0.3", WDL2SFN_CONTAINER="host")
    env.update(extra)
    return env


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 900) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Rehearsed:
    """What `wdl2sfn rehearse WF.wdl` printed and left behind."""

    returncode: int
    stdout: str
    stderr: str
    folder: Path

    @property
    def result(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (self.folder / "aws-calls.jsonl").open()]

    def job_definitions(self) -> list[dict[str, Any]]:
        return list(json.loads((self.folder / "job-definitions.json").read_text()))

    def task_definitions(self) -> list[dict[str, Any]]:
        """The job definitions prepare registered (not the stack's runner)."""
        return [d for d in self.job_definitions() if "-runner-" not in d["jobDefinitionName"]]

    def template(self) -> dict[str, Any]:
        (path,) = (self.folder / "templates").glob("*.template.json")
        return dict(json.loads(path.read_text()))


def rehearse(tmp: Path, wdl: Path, *args: str) -> Rehearsed:
    inputs = wdl.parent / "inputs.json"
    given = ["-i", str(inputs)] if inputs.exists() and "-i" not in args else []
    done = cli("rehearse", str(wdl), *given, *args, "--dir", str(tmp), cwd=wdl.parent)
    folders = [
        line.rsplit(" ", 1)[-1]
        for line in done.stderr.splitlines()
        if line.startswith("wdl2sfn: rehearsal folder ")
    ]
    assert folders, f"no rehearsal folder reported:\n{done.stdout}\n{done.stderr[-3000:]}"
    return Rehearsed(done.returncode, done.stdout, done.stderr, Path(folders[-1]))


def comparable(value: Any) -> Any:
    """Outputs with each file replaced by a digest of its content (paths differ by design)."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, str) and value.startswith("/") and os.path.isfile(value):
        return "sha256:" + hashlib.sha256(Path(value).read_bytes()).hexdigest()
    return value


@dataclass
class Served:
    """`wdl2sfn rehearse --serve`: the account, and the CLI pointed at it as the CLI user (keys of
    an IAM user holding only the stack's CliUserPolicyArn); `client` is the operator's."""

    info: dict[str, Any]
    process: subprocess.Popen[str]
    env: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return cli(*args, cwd=cwd, env=self.env)

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.info["endpoint"],
            region_name=self.info["region"],
            aws_access_key_id="operator",
            aws_secret_access_key="operator",
        )

    @property
    def folder(self) -> Path:
        return Path(self.info["folder"])

    def outputs(self) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=self.info["stack"])
        return {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}


def serve(tmp: Path, *args: str, **settings: str) -> Iterator[Served]:
    """``rehearse --serve`` with ``settings`` (WDL2SFN_* variables) in its environment."""
    process = subprocess.Popen(
        [sys.executable, "-m", "wdl2sfn.cli", "rehearse", "--serve", *args, "--dir", str(tmp)],
        stdout=subprocess.PIPE,
        stderr=open(tmp / "serve.log", "w"),  # noqa: SIM115 - lives as long as the server
        text=True,
        env=clean_env(**settings),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait()
        pytest.fail(f"rehearse --serve ended: {(tmp / 'serve.log').read_text()[-3000:]}")
    info = json.loads(line)
    env = clean_env(
        AWS_ENDPOINT_URL=info["endpoint"],
        AWS_DEFAULT_REGION=info["region"],
        WDL2SFN_STACK=info["stack"],
        **info["cli_keys"],
    )
    try:
        yield Served(info, process, env)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
