"""`wdl2sfn rehearse --serve`: the real AWS backend code (`deploy`, `run --backend aws`) and the
stack's triggers against one rehearsed account."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import FIXTURES, SAMPLES, Served, comparable, serve

pytestmark = pytest.mark.slow
HELLO = SAMPLES / "hello" / "hello.wdl"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A new-vpc account whose roles may also read the bucket `shared-inputs`, with a schedule."""
    yield from serve(
        tmp_path_factory.mktemp("served"),
        "-c", "read_buckets=shared-inputs",
        "-c", "schedule_expression=rate(1 day)",
        "-c", 'schedule_inputs={"hello.who": "scheduler"}',
    )  # fmt: skip


def wait_for_execution(served: Served, machine: str, timeout: float = 180) -> dict[str, Any]:
    """The machine's first execution, once it has ended."""
    sfn = served.client("stepfunctions")
    arn = f"arn:aws:states:{served.info['region']}:123456789012:stateMachine:{machine}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        executions = sfn.list_executions(stateMachineArn=arn)["executions"]
        done = [e for e in executions if e["status"] != "RUNNING"]
        if done:
            return dict(sfn.describe_execution(executionArn=done[-1]["executionArn"]))
        time.sleep(1)
    raise AssertionError(f"no execution of {machine} ended within {timeout} s")


def test_deploy_creates_with_the_stacks_role_then_finds_nothing_to_change(
    served: Served,
) -> None:
    """Defect 4: no stack output named a role `wdl2sfn deploy` could use. A workflow no other test
    of this module deploys or runs, so the test holds in any order (xdist worksteal)."""
    wdl = SAMPLES / "conditional" / "conditional.wdl"
    first = served.cli("deploy", str(wdl), "--stack", served.info["stack"])
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(first.stdout)["action"] == "created"
    again = served.cli("deploy", str(wdl), "--stack", served.info["stack"])
    assert json.loads(again.stdout)["action"] == "unchanged"


def test_run_on_aws_waits_and_prints_the_outputs_of_a_local_run(
    served: Served, tmp_path: Path
) -> None:
    wdl = SAMPLES / "scatter_gather" / "scatter_gather.wdl"
    on_aws = served.cli("run", str(wdl), "-i", "inputs.json", "--backend", "aws", "--wait",
                        cwd=wdl.parent)  # fmt: skip
    assert on_aws.returncode == 0, on_aws.stderr[-2000:]
    local = served.cli("run", str(wdl), "-i", "inputs.json", "--dir", str(tmp_path),
                       cwd=wdl.parent)  # fmt: skip
    assert json.loads(on_aws.stdout)["outputs"] == comparable(json.loads(local.stdout)["outputs"])
    assert json.loads(on_aws.stdout)["dir"].startswith("s3://")


def test_an_inputs_object_put_in_the_bucket_starts_the_workflow(served: Served) -> None:
    """Defect 3: runs not started by the CLI found no bundle.json (init failed)."""
    bucket = served.outputs()["RunBucket"]
    body = json.dumps({"inputs": {"hello.who": "EventBridge"}})
    served.client("s3").put_object(Bucket=bucket, Key="inputs/hello/today.json", Body=body)
    found = wait_for_execution(served, f"{served.info['stack']}-hello")
    assert found["status"] == "SUCCEEDED", found.get("cause")
    assert found["stateMachineAliasArn"].endswith(f"{served.info['stack']}-hello:live")
    assert found["stateMachineVersionArn"].endswith(f"{served.info['stack']}-hello:1")


def test_s3_inputs_from_a_granted_bucket_are_read_and_others_denied(served: Served) -> None:
    """Defect 6: S3 inputs outside the run bucket were denied to every role."""
    s3 = served.client("s3")
    for bucket in ("shared-inputs", "private-inputs"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="data.txt", Body=b"a\nb\nc\n")
    wdl = FIXTURES / "s3_input.wdl"
    ok = served.cli("run", str(wdl), "data=s3://shared-inputs/data.txt", "--backend", "aws",
                    "--wait")  # fmt: skip
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout)["outputs"]["s3_input.lines"] == 3
    denied = served.cli("run", str(wdl), "data=s3://private-inputs/data.txt", "--backend",
                        "aws", "--wait")  # fmt: skip
    assert denied.returncode == 1
    assert "cannot download s3://private-inputs/data.txt" in denied.stdout
    calls = [json.loads(line) for line in (served.folder / "aws-calls.jsonl").open()]
    refused = [c for c in calls if "private-inputs" in c["resource"] and not c["allowed"]]
    assert refused and all(c["principal"] != "operator" for c in refused)


def test_the_schedule_starts_the_workflow(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("scheduled")
    for served in serve(folder, "-c", "schedule_expression=rate(1 day)",
                        "-c", 'schedule_inputs={"hello.who": "scheduler"}',
                        "--fire-schedules"):  # fmt: skip
        found = wait_for_execution(served, f"{served.info['stack']}-hello")
        assert found["status"] == "SUCCEEDED", found.get("cause")
        assert found["stateMachineAliasArn"].endswith(":live")
        run = json.loads(found["output"])["ctx"]["run"]
        bucket = served.outputs()["RunBucket"]
        body = served.client("s3").get_object(Bucket=bucket, Key=f"runs/{run}/outputs.json")
        assert json.loads(body["Body"].read()) == {"hello.message": "Hello, scheduler!"}


def test_scratch_objects_of_a_run_fall_under_an_expiring_lifecycle_rule(served: Served) -> None:
    """Defect 10: the expiry rule filtered on a tag nothing set."""
    wdl = SAMPLES / "scatter_gather" / "scatter_gather.wdl"
    done = served.cli("run", str(wdl), "-i", "inputs.json", "--backend", "aws", "--wait",
                      cwd=wdl.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    bucket = served.outputs()["RunBucket"]
    keys = [o["Key"] for o in served.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    kept = ("_workflows/", "inputs-data/", "runs/", "inputs/")
    scratch = [k for k in keys if not k.startswith(kept)]
    assert scratch
    rules = served.client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    expiring = [r["Filter"].get("Prefix", "") for r in rules if "Expiration" in r]
    assert all(any(k.startswith(p) and p for p in expiring) for k in scratch), scratch
