"""`wdl2sfn resume RUN --backend aws` where RedriveExecution is refused (moto's server has no
RedriveExecution): it says why and starts a new execution that reuses the call cache."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import STACK, Moto
from .test_cli_aws import write_wdl


def test_resume_without_redrive_starts_a_new_execution_with_the_cache(
    executing: Moto, tmp_path: Path
) -> None:
    wdl = str(write_wdl(tmp_path, "resumed"))
    failed = executing.cli("run", wdl, "--backend", "aws", "--stack", STACK, "--wait")
    arn = json.loads(failed.stdout)["execution_arn"]
    resumed = executing.cli("resume", arn, "--stack", STACK)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    answer = json.loads(resumed.stdout)
    assert answer["mode"] == "new execution" and answer["resumed"] == arn
    assert answer["execution_arn"] != arn and "RedriveExecution refused" in answer["reason"]
    assert f"cannot redrive {arn.rsplit(':', 1)[-1]}" in resumed.stderr
    sfn = executing.client("stepfunctions")
    started = json.loads(sfn.describe_execution(executionArn=answer["execution_arn"])["input"])
    before = json.loads(sfn.describe_execution(executionArn=arn)["input"])
    assert started["inputs"] == before["inputs"] and started["run"]["no_cache"] is False


def test_resume_refuses_a_run_that_is_still_running(moto: Moto, tmp_path: Path) -> None:
    wdl = str(write_wdl(tmp_path, "stillrunning"))
    started = json.loads(moto.cli("run", wdl, "--backend", "aws", "--stack", STACK).stdout)
    resumed = moto.cli("resume", started["execution_arn"], "--stack", STACK)
    assert resumed.returncode == 2
    assert "still running" in resumed.stderr
