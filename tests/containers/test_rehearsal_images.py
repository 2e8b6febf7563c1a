"""`wdl2sfn rehearse`: each task's Batch job runs in the image its registered job definition
names, through the engine `run --container` would take, with the definition's user, ulimits,
environment and mounts (docs/rehearsal.md, "Batch jobs in their images").

A missing image fails the job as ECS fails it, before its command: the job FAILED with a status
reason starting `CannotPullContainerError:` (the ECS agent's "Status reason: CannotPullContainerError:
..." for an image it cannot pull, aws/amazon-ecs-agent#1434; ECS's stopped-task error codes:
"CannotPullContainerError: This error occurs when the agent is unable to pull the container image
specified in the task definition")."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..rehearsal.conftest import Served, clean_env, cli, rehearse, serve
from .conftest import BASE, IMAGE_GREETING, IMAGE_UID, REGISTRY, USER, path_without

WHO = """version 1.0
workflow who {
  scatter (i in [1, 2]) { call whoami }
  output { Array[Array[String]] seen = whoami.seen }
}
task whoami {
  command <<<
    echo "uid=$(id -u)"
    echo "greeting=${IMAGE_GREETING:-none}"
    echo "job=${AWS_BATCH_JOB_ID:-none}"
  >>>
  output { Array[String] seen = read_lines(stdout()) }
  runtime { docker: "@IMAGE@" }
}
"""
IN_IMAGES = "Batch jobs run in their job definitions' images with podman"
ON_HOST = "Batch jobs run as host processes"


def write(tmp_path: Path, image: str) -> Path:
    wdl = tmp_path / "wf" / "who.wdl"
    wdl.parent.mkdir(exist_ok=True)
    wdl.write_text(WHO.replace("@IMAGE@", image))
    return wdl


def seen(result: dict[str, Any]) -> list[dict[str, str]]:
    return [dict(line.split("=", 1) for line in shard) for shard in result["outputs"]["who.seen"]]


@pytest.mark.usefixtures("images")
def test_a_rehearsed_task_runs_in_its_image_as_its_user_with_its_environment(tmp_path):
    done = rehearse(tmp_path, write(tmp_path, USER), "--container", "podman")
    assert done.returncode == 0, done.stderr[-3000:]
    for shard in seen(done.result):
        assert shard["uid"] == str(IMAGE_UID)  # the image's USER
        assert shard["greeting"] == IMAGE_GREETING  # the image's ENV
        assert shard["job"] != "none"  # and what Batch gives every job
    assert done.stderr.count(IN_IMAGES) == 1
    assert "runner jobs (wdl2sfn's run-time steps) run as host processes" in done.stderr


@pytest.mark.usefixtures("images")
def test_a_task_whose_image_is_missing_fails_before_its_command_naming_it(tmp_path):
    absent = f"{REGISTRY}/absent:404"
    done = rehearse(tmp_path, write(tmp_path, absent), "--container", "podman")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-2]  # the line before "rehearsal folder ..."
    assert f"CannotPullContainerError: podman pull {absent}: " in last
    reasons = [
        reason
        for history in (done.folder / "executions").rglob("*")
        if history.is_file()
        for reason in _status_reasons(history.read_text())
    ]
    assert reasons and all(r.startswith(f"CannotPullContainerError: podman pull {absent}: ")
                           for r in reasons)  # fmt: skip
    calls = list((done.folder / "filesystems").rglob("calls/whoami/shard-*"))
    assert calls and not any((call / "stdout.txt").exists() for call in calls)


def _status_reasons(text: str) -> list[str]:
    """The StatusReason of each failed Batch job in an execution's history (a Task state's
    cause is the job's description)."""
    found = []
    for line in text.splitlines() or [text]:
        for cause in _causes(json.loads(line) if line.strip().startswith(("{", "[")) else None):
            if isinstance(cause, dict) and "StatusReason" in cause:
                found.append(str(cause["StatusReason"]))
    return found


def _causes(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "cause" and isinstance(item, str) and item.startswith("{"):
                yield json.loads(item)
            else:
                yield from _causes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _causes(item)


def test_without_an_engine_the_rehearsal_says_once_that_jobs_run_as_host_processes(tmp_path):
    env = clean_env(PATH=path_without(tmp_path, "podman", "docker"), WDL2SFN_CONTAINER="auto")
    wdl = write(tmp_path, BASE)
    done = cli("rehearse", str(wdl), "--dir", str(tmp_path / "out"), cwd=wdl.parent, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {shard["uid"] for shard in seen(json.loads(done.stdout))} == {str(os.getuid())}
    notices = [line for line in done.stderr.splitlines() if ON_HOST in line]
    assert len(notices) == 1
    assert "no podman command on PATH" in notices[0]


@pytest.fixture(scope="module")
def served(images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("served"), "--container", "podman")


@pytest.mark.usefixtures("images")
def test_a_job_runs_with_its_definitions_user_ulimits_and_environment(served: Served):
    batch = served.client("batch")
    queue = served.outputs()["CpuQueueArn"]
    batch.register_job_definition(
        jobDefinitionName="by-hand", type="container",
        containerProperties={
            "image": BASE, "user": "4321", "vcpus": 1, "memory": 64,
            "ulimits": [{"name": "nofile", "softLimit": 512, "hardLimit": 512}],
            "environment": [{"name": "GIVEN", "value": "by-the-definition"}],
            "command": ["bash", "-c", 'echo "uid=$(id -u) nofile=$(ulimit -n) given=$GIVEN"'],
        },
    )  # fmt: skip
    job = batch.submit_job(jobName="by-hand", jobQueue=queue, jobDefinition="by-hand")
    described = _ended(batch, job["jobId"])
    assert described["status"] == "SUCCEEDED", described.get("statusReason")
    logs = served.client("logs").get_log_events(
        logGroupName="/aws/batch/job", logStreamName=described["container"]["logStreamName"]
    )
    lines = [event["message"] for event in logs["events"]]
    assert "uid=4321 nofile=512 given=by-the-definition" in lines


def _ended(batch: Any, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        (job,) = batch.describe_jobs(jobs=[job_id])["jobs"]
        if job["status"] in ("SUCCEEDED", "FAILED"):
            return dict(job)
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not end: {job['status']}")


def test_a_forced_engine_that_does_not_answer_is_exit_2_before_the_account_is_built(tmp_path):
    env = clean_env(PATH=path_without(tmp_path, "podman"))
    wdl = write(tmp_path, BASE)
    done = cli("rehearse", str(wdl), "--container", "podman", "--dir", str(tmp_path / "out"),
               cwd=wdl.parent, env=env)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "wdl2sfn: --container podman: no podman command on PATH"
    )
    assert not (tmp_path / "out").exists()  # nothing built
