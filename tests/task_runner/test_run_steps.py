"""The workflow-level steps: init's input normalisation, and the S3 upload, against moto's server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from wdl2sfn.task_runner.errors import WdlInputError
from wdl2sfn.task_runner.handlers import Settings
from wdl2sfn.task_runner.init import normalize_request, validate_inputs
from wdl2sfn.task_runner.store import RunStore
from wdl2sfn.task_runner.upload import upload_run
from wdl2sfn.wdl import load

from ..conftest import sample


@pytest.fixture(scope="module")
def s3() -> Iterator[object]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="runs")
    yield client
    server.stop()


def test_plain_execution_input_passes_through():
    request = normalize_request({"inputs": {"hello.who": "x"}, "run": {"name": "r1"}})
    assert request == {"inputs": {"hello.who": "x"}, "run": {"name": "r1"}}


def test_s3_object_created_event_reads_the_inputs_file(s3):
    s3.put_object(Bucket="runs", Key="inputs/hello/a.json", Body=json.dumps({"hello.who": "s3"}))
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "runs"}, "object": {"key": "inputs/hello/a.json"}},
    }
    request = normalize_request(event, s3)
    assert request["inputs"] == {"hello.who": "s3"}
    assert request["run"]["source"] == "s3://runs/inputs/hello/a.json"


def test_s3_event_may_carry_the_whole_request(s3):
    body = {"inputs": {"hello.who": "y"}, "run": {"no_cache": True}}
    s3.put_object(Bucket="runs", Key="inputs/hello/b.json", Body=json.dumps(body))
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "runs"}, "object": {"key": "inputs/hello/b.json"}},
    }
    assert normalize_request(event, s3)["run"]["no_cache"] is True


def test_scheduled_event_detail_is_the_request():
    event = {"detail-type": "Scheduled Event", "detail": {"inputs": {"hello.who": "cron"}}}
    assert normalize_request(event)["inputs"] == {"hello.who": "cron"}


def test_unknown_input_is_rejected_by_name():
    workflow = load(str(sample("hello"))).workflow
    with pytest.raises(WdlInputError, match="bogus"):
        validate_inputs(workflow, {"hello.bogus": 1})


def test_wrong_input_type_is_rejected():
    workflow = load(str(sample("scatter_gather"))).workflow
    with pytest.raises(WdlInputError, match="numbers"):
        validate_inputs(workflow, {"scatter_gather.numbers": "seven"})


def test_upload_copies_output_files_and_rewrites_outputs_json(s3, tmp_path: Path):
    store = RunStore(tmp_path)
    run_dir = tmp_path / "r1"
    (run_dir / "calls" / "t" / "work").mkdir(parents=True)
    out_file = run_dir / "calls" / "t" / "work" / "result.txt"
    out_file.write_text("42\n")
    (run_dir / "calls" / "t" / "stderr.txt").write_text("log\n")
    store.write_json(
        run_dir / "run.json", {"name": "r1", "options": {"s3upload": "s3://runs/results"}}
    )
    store.write_json(run_dir / "outputs.json", {"wf.result": str(out_file), "wf.n": 3})

    summary = upload_run(Settings(store=store, s3=s3), "r1")

    outputs = json.loads((run_dir / "outputs.json").read_text())
    assert outputs == {"wf.result": "s3://runs/results/r1/calls/t/work/result.txt", "wf.n": 3}
    body = s3.get_object(Bucket="runs", Key="results/r1/calls/t/work/result.txt")["Body"].read()
    assert body == b"42\n"
    assert (
        s3.get_object(Bucket="runs", Key="results/r1/calls/t/stderr.txt")["Body"].read() == b"log\n"
    )
    assert summary["outputs"] == "s3://runs/results/r1/outputs.json"
