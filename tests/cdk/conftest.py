"""Synthesize each variant of the CDK app once per test session (each synth costs seconds)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
pytest.importorskip("aws_cdk")
pytest.importorskip("cdk_nag")

REPO = Path(__file__).resolve().parents[2]
CDK_APP = REPO / "cdk_app"  # wdl2sfn_cdk is a package of the distribution: no sys.path edit

from aws_cdk.assertions import Template  # noqa: E402
from wdl2sfn_cdk import app as app_mod  # noqa: E402
from wdl2sfn_cdk import compile as compile_mod  # noqa: E402

HELLO = REPO / "sample_wdl" / "hello" / "hello.wdl"
STAND_IN = REPO.parent / "shared" / "example-compiled.asl.json"

EXISTING_VPC = {
    "variant": "existing-vpc",
    "vpc_id": "vpc-0123456789abcdef0",
    "subnet_ids": "subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2",
    "availability_zones": "us-east-1a,us-east-1b",
    "security_group_id": "sg-0123456789abcdef0",
    "kms_key_arns": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "owner": "alice",
    "bucket_name": "wdl2sfn-test-runs",
    "schedule_expression": "rate(1 day)",
    "schedule_inputs": json.dumps({"hello.who": "schedule"}),
}
VARIANTS = {
    "new-vpc": {"variant": "new-vpc", "owner": "alice"},
    "existing-vpc": EXISTING_VPC,
    "fsx": {"variant": "fsx", "owner": "alice"},
}

FUNCTION_ARN = re.compile(r"\$\{(\w+FunctionArn)\}")


@dataclass
class StandIn:
    """Shaped like wdl2sfn.compiler.CompiledWorkflow (only when the compiler is missing)."""

    name: str
    definition: dict[str, Any]
    placeholders: list[str]
    digest: str
    sources: dict[str, str]
    children: dict[str, Any] = field(default_factory=dict)
    main: str = "main.wdl"


def _placeholders(definition: dict[str, Any]) -> list[str]:
    return sorted(set(re.findall(r"\$\{(\w+)\}", json.dumps(definition))))


def _runner_jobs(definition: Any) -> Any:
    """What the compiler's fsx mode does: run-time steps as runner Batch jobs, not Lambda."""
    if isinstance(definition, dict):
        if definition.get("Resource") == "arn:aws:states:::lambda:invoke":
            params = definition.get("Parameters", {})
            step = FUNCTION_ARN.search(params.get("FunctionName", ""))
            name = step.group(1).removesuffix("FunctionArn").lower() if step else "step"
            definition = dict(definition)
            definition["Resource"] = "arn:aws:states:::batch:submitJob.sync"
            definition["Parameters"] = {
                "JobName": f"wdl2sfn-{name}",
                "JobQueue": "${RunnerQueueArn}",
                "JobDefinition": "${RunnerJobDefinitionArn}",
                "ContainerOverrides": {"Command": ["python", "-m", "wdl2sfn.task_runner", name]},
            }
            definition.pop("ResultSelector", None)
        return {k: _runner_jobs(v) for k, v in definition.items()}
    if isinstance(definition, list):
        return [_runner_jobs(v) for v in definition]
    return definition


def compile_for_tests(path: str, filesystem: str = "efs") -> Any:
    try:
        from wdl2sfn.compiler import compile_workflow
    except ImportError:
        definition = json.loads(STAND_IN.read_text())
        text = Path(path).read_text()
        compiled: Any = StandIn(
            name=Path(path).stem,
            definition=definition,
            placeholders=_placeholders(definition),
            digest=hashlib.sha256(text.encode()).hexdigest()[:32],
            sources={Path(path).name: text},
        )
    else:
        compiled = compile_workflow(path, filesystem=filesystem)
    if filesystem == "fsx" and any(p.endswith("FunctionArn") for p in compiled.placeholders):
        # Until the compiler's fsx mode runs every step on the runner queue, do its job here so
        # the fsx stack (which has no Lambda functions) is tested against what it must serve.
        compiled = copy.copy(compiled)
        compiled.definition = _runner_jobs(compiled.definition)
        compiled.placeholders = _placeholders(compiled.definition)
    return compiled


@dataclass
class Synth:
    variant: str
    context: dict[str, Any]
    outdir: Path
    stack: Any
    template: dict[str, Any]
    assertions: Template

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_}


def synthesize(variant: str, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp(f"cdk-{variant}")
    saved = compile_mod.compile_wdl
    compile_mod.compile_wdl = compile_for_tests
    try:
        app, stack = app_mod.build_app(dict(VARIANTS[variant]), outdir=str(outdir))
        app_mod.synth(app)
    finally:
        compile_mod.compile_wdl = saved
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    return Synth(variant, VARIANTS[variant], outdir, stack, template, Template.from_json(template))


@pytest.fixture(scope="session")
def new_vpc(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize("new-vpc", tmp_path_factory)


@pytest.fixture(scope="session")
def existing_vpc(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize("existing-vpc", tmp_path_factory)


@pytest.fixture(scope="session")
def fsx(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize("fsx", tmp_path_factory)


@pytest.fixture(params=["new-vpc", "existing-vpc", "fsx"])
def any_variant(request: pytest.FixtureRequest) -> Synth:
    return request.getfixturevalue(request.param.replace("-", "_"))


@pytest.fixture(params=["new-vpc", "existing-vpc"])
def efs_variant(request: pytest.FixtureRequest) -> Synth:
    return request.getfixturevalue(request.param.replace("-", "_"))
