"""cfn-lint, cdk-nag, the image asset's build context, the app's entry point and its context."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from wdl2sfn_cdk import ConfigError, load_config
from wdl2sfn_cdk.app import NagError, findings, synth

from .conftest import CDK_APP, REPO, Synth


def test_cfn_lint_reports_no_errors(any_variant: Synth) -> None:
    from cfnlint.api import lint

    path = any_variant.outdir / "wdl2sfn.template.json"
    # cfn-lint's default region plus two other large ones (FSx is not in every region).
    matches = lint(path.read_text(), regions=["us-east-1", "us-west-2", "eu-west-1"])
    errors = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.id.startswith("E")
    ]
    assert errors == []


def test_cdk_nag_leaves_no_unacknowledged_finding(any_variant: Synth) -> None:
    assert findings(str(any_variant.outdir)) == []


def test_every_nag_acknowledgment_carries_a_reason(any_variant: Synth) -> None:
    acks = 0
    for construct in any_variant.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in dict(entry.data).items():
                    if "AwsSolutions-" in rule:
                        acks += 1
                        assert len(str(reason).strip()) > 20, rule
    assert acks > 0


def test_unacknowledged_nag_finding_fails_synth(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Bad")
    s3.Bucket(stack, "Open")  # no SSL policy, no access logs
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(NagError, match="AwsSolutions-S10"):
        synth(app)


def test_runner_image_context_excludes_venv_git_and_cdk_out(any_variant: Synth) -> None:
    contexts = [
        p for p in any_variant.outdir.glob("asset.*") if p.is_dir() and (p / "Dockerfile").exists()
    ]
    assert len(contexts) == 1
    (context,) = contexts
    names = {p.name for p in context.iterdir()}
    assert {"Dockerfile", "pyproject.toml", "wdl2sfn", "cdk_app"} <= names
    assert not names & {".venv", ".git", "cdk.out", "tests"}
    assert not list(context.rglob("cdk.out")) and not list(context.rglob("__pycache__"))


def test_dockerfile_serves_lambda_and_batch_from_one_image() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "awslambdaric" in dockerfile
    assert 'CMD ["wdl2sfn.task_runner.lambda_entry.handler"]' in dockerfile
    entry = (CDK_APP / "runner" / "entrypoint.sh").read_text()
    assert "python -m awslambdaric" in entry and 'exec "$@"' in entry


def test_existing_vpc_without_subnets_is_rejected() -> None:
    with pytest.raises(ConfigError, match="subnet_ids"):
        load_config({"variant": "existing-vpc", "vpc_id": "vpc-1", "availability_zones": "a,b"})


def test_unknown_variant_is_rejected() -> None:
    with pytest.raises(ConfigError, match="variant"):
        load_config({"variant": "on-prem"})


def test_context_strings_from_the_cli_are_parsed() -> None:
    config = load_config(
        {
            "variant": "existing-vpc",
            "vpc_id": "vpc-1",
            "subnet_ids": "subnet-1, subnet-2",
            "availability_zones": '["us-west-2a", "us-west-2b"]',
            "max_vcpus": "512",
        }
    )
    assert config.subnet_ids == ("subnet-1", "subnet-2")
    assert config.availability_zones == ("us-west-2a", "us-west-2b")
    assert config.max_vcpus == 512 and config.spot_max_vcpus == 512
    assert config.filesystem == "efs" and config.store == "/mnt/efs/wdl2sfn/runs"


def test_cdk_json_runs_app_py() -> None:
    assert json.loads((CDK_APP / "cdk.json").read_text())["app"] == "python3 app.py"


def test_app_py_honours_cdk_outdir_and_cdk_context_json(tmp_path: Path) -> None:
    pytest.importorskip("wdl2sfn.compiler")
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path),
        "CDK_CONTEXT_JSON": json.dumps(
            {
                "variant": "existing-vpc",
                "vpc_id": "vpc-0123456789abcdef0",
                "subnet_ids": "subnet-0c0c0c0c0c0c0c0c1,subnet-0d0d0d0d0d0d0d0d2",
                "availability_zones": "eu-west-1a,eu-west-1b",
                "stack_name": "wdl2sfn-cli",
            }
        ),
    }
    run = subprocess.run(
        [sys.executable, "app.py"],
        cwd=CDK_APP,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    template = json.loads((tmp_path / "wdl2sfn-cli.template.json").read_text())
    assert "RunnerQueueArn" in template["Outputs"]
    assert "subnet-0c0c0c0c0c0c0c0c1" in json.dumps(template)


def test_runner_entrypoint_runs_batch_commands_as_given() -> None:
    entry = CDK_APP / "runner" / "entrypoint.sh"
    run = subprocess.run(
        ["sh", str(entry), "echo", "python -m wdl2sfn.task_runner prepare"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0 and run.stdout == "python -m wdl2sfn.task_runner prepare\n"
