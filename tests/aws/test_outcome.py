"""In-process pieces of the aws backend that moto cannot drive end to end."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from wdl2sfn.backends import aws
from wdl2sfn.backends.aws import deploy, outcome, run, wait
from wdl2sfn.backends.requests import RunOptions

from .conftest import REGION, STACK, Moto


def test_history_events_become_json_able():
    when = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)
    event = {"timestamp": when, "type": "ExecutionStarted", "id": 1, "ResponseMetadata": {}}
    assert json.dumps(aws.json_able(event)) == (
        '{"timestamp": "2024-05-01T12:00:00Z", "type": "ExecutionStarted", "id": 1}'
    )


def test_wait_success_prints_outputs_uploaded_to_s3(
    moto: Moto, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    for key, value in moto.env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="results")
    outputs = {"hello.message": "s3://results/runs/r1/calls/greet/stdout.txt"}
    s3.put_object(Bucket="results", Key="runs/r1/outputs.json", Body=json.dumps(outputs))
    description = {
        "status": "SUCCEEDED",
        "output": json.dumps({"final": {"dir": "/mnt/efs/wdl2sfn/runs/r1", "upload": True}}),
    }
    request = {"run": {"name": "r1", "s3upload": "s3://results/runs/"}}
    code = outcome.report(aws.Aws(REGION), description, request, moto.outputs(STACK), "url")
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "dir": "s3://results/runs/r1",
        "outputs": outputs,
    }


def test_substitute_names_every_missing_placeholder():
    definition = {"Resource": "${InitFunctionArn}", "Queue": "${CpuQueueArn}"}
    with pytest.raises(aws.AwsBackendError) as exn:
        deploy.substitute(definition, {"InitFunctionArn": "arn:x"}, "workflow w")
    assert "CpuQueueArn" in str(exn.value) and exn.value.exit_code == 2


def test_tag_without_equals_is_a_usage_error():
    options = RunOptions(dir=Path("."), tags=["novalue"])
    with pytest.raises(aws.AwsBackendError) as exn:
        run.run_request(options, {}, "r")
    assert exn.value.exit_code == 2


class _History:
    """GetExecutionHistory pages of events 1..n, in the asked order unless told to ignore it."""

    def __init__(self, n: int, page: int, honour_order: bool):
        self.ids, self.page, self.honour_order = list(range(1, n + 1)), page, honour_order
        self.calls = 0

    def get_execution_history(self, **kwargs):
        self.calls += 1
        ids = self.ids[::-1] if kwargs["reverseOrder"] and self.honour_order else self.ids
        start = int(kwargs.get("nextToken", 0))
        chunk = ids[start : start + self.page]
        out = {"events": [{"id": i, "type": "T"} for i in chunk]}
        if start + self.page < len(ids):
            out["nextToken"] = str(start + self.page)
        return out


@pytest.mark.parametrize("honour_order", [True, False], ids=["newest-first", "order-ignored"])
def test_follow_reads_only_unseen_events_oldest_first(honour_order: bool):
    history = _History(n=25, page=10, honour_order=honour_order)
    fake = SimpleNamespace(client=lambda service: history)
    events = wait.new_events(fake, "arn:execution", after_id=18)  # type: ignore[arg-type]
    assert [e["id"] for e in events] == list(range(19, 26))
    if honour_order:
        assert history.calls == 1  # the first newest-first page reached a seen event


def test_store_paths_of_the_sources_become_the_names_the_user_wrote():
    from wdl2sfn.backends.aws.failures import source_names

    message = (
        "/mnt/efs/wdl2sfn/runs/20261130_185157_bad/wdl/lib/tasks.wdl:4:3: call t: oops\n"
        "stderr: /mnt/efs/wdl2sfn/runs/20261130_185157_bad/calls/t/stderr.txt"
    )
    assert source_names(message) == (
        "lib/tasks.wdl:4:3: call t: oops\n"
        "stderr: /mnt/efs/wdl2sfn/runs/20261130_185157_bad/calls/t/stderr.txt"
    )
