"""--s3upload is checked before the run (scheme, credentials, bucket reachable) against a moto
server, and a run whose upload fails is FAILED in `list`/`status`, not SUCCEEDED."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import SAMPLES
from ..integration.helpers import wdl2sfn
from .helpers import cli_json

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

HELLO = str(SAMPLES / "hello" / "hello.wdl")
FILES = str(SAMPLES / "files" / "files.wdl")
BUCKET = "results"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    nowhere = str(tmp_path_factory.mktemp("aws") / "none")
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": nowhere,
        "AWS_SHARED_CREDENTIALS_FILE": nowhere,
    }
    client(env).create_bucket(Bucket=BUCKET)
    try:
        yield env
    finally:
        server.stop()


def client(env: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def no_runs(root: Path) -> bool:
    return not list(root.glob("*/run.json"))


def test_s3upload_to_a_missing_bucket_is_refused_before_running(s3, tmp_path):
    out = wdl2sfn("run", HELLO, "--s3upload", "s3://no-such-bucket/x", "-d", str(tmp_path), env=s3)
    assert out.code == 2
    assert out.last_line == "--s3upload s3://no-such-bucket/x: bucket no-such-bucket does not exist"
    assert no_runs(tmp_path)


def test_s3upload_without_credentials_is_refused_before_running(s3, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=s3["AWS_CONFIG_FILE"], AWS_SHARED_CREDENTIALS_FILE=s3["AWS_CONFIG_FILE"]
    )
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    out = wdl2sfn("run", HELLO, "--s3upload", f"s3://{BUCKET}/x", "-d", str(tmp_path), env=env)
    assert out.code == 2
    assert "no AWS credentials" in out.last_line
    assert no_runs(tmp_path)


def test_s3upload_to_a_reachable_bucket_uploads_the_outputs(s3, tmp_path):
    text = tmp_path / "lines.txt"
    text.write_text("a\nb\n")
    out = wdl2sfn(
        "run",
        FILES,
        f"text={text}",
        "--s3upload",
        f"s3://{BUCKET}/runs",
        "-d",
        str(tmp_path),
        env=s3,
    )
    assert out.code == 0, out.stderr
    keys = [o["Key"] for o in client(s3).list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert f"runs/{out.run_dir.name}/outputs.json" in keys


def test_run_whose_upload_failed_is_failed_not_succeeded(s3, tmp_path):
    faults = json.dumps([{"job": "upload-*", "reason": "Host EC2 (instance i-0) terminated."}])
    env = {**s3, "WDL2SFN_LOCAL_BATCH_FAULTS": faults}
    out = wdl2sfn(
        "run", HELLO, "who=x", "--s3upload", f"s3://{BUCKET}/runs", "-d", str(tmp_path), env=env
    )
    assert out.code != 0
    assert "the upload of outputs to S3 failed after 3 attempts" in out.last_line
    run_dir = Path(out.json["dir"])
    assert (run_dir / "outputs.json").exists()
    assert cli_json("status", str(run_dir))["status"] == "FAILED"
    assert cli_json("list", "--dir", str(tmp_path))[0]["status"] == "FAILED"
