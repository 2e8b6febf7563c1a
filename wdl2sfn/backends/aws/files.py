"""``wdl2sfn files RUN [PATH] [--get DEST] --backend aws``: a run folder on EFS or FSx, browsed
from a laptop.

Only the stack's jobs mount the file system, so the CLI submits the ``files`` run-time step as a
runner job (the stack's runner queue and job definition, as the state machines do) and reads its
answer, and with ``--get`` the files, from the run bucket's ``_steps/files/`` scratch prefix
(expired by the bucket's lifecycle rule). The job waits for a Batch instance like any other: a
minute or more on AWS when the queue has none running. Polling DescribeJobs is one call every
``WDL2SFN_POLL_SECONDS`` (5 s).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from ...contract import RUN_BUCKET, RUNNER_JOB_DEFINITION, RUNNER_QUEUE, STEPS_PREFIX
from . import Aws, AwsBackendError, _aws_call, _note, poll_seconds, stack_outputs
from .follow import LOG_GROUP
from .outcome import read_s3_json
from .runs import Run, download, run_folder

JOB_GIVE_UP_SECONDS = 3600.0


def browse(run: Run, stack: str, path: str, recursive: bool, dest: str | None) -> dict[str, Any]:
    """The listing; with ``dest``, the files downloaded under ``dest/<run>/`` as well."""
    outputs = stack_outputs(run.aws, stack)
    folder = run_folder(run)
    scratch = f"{STEPS_PREFIX}/files/{uuid.uuid4().hex}"
    event: dict[str, Any] = {"run": folder, "path": path, "recursive": recursive}
    if dest is not None:
        event["get_prefix"] = scratch
    answer = run_step(run.aws, outputs, event, f"{scratch}.json")
    if "error" in answer:
        raise AwsBackendError(str(answer["error"]), error="FileNotFound", exit_code=2)
    result: dict[str, Any] = {"run": folder, "path": path or ".", **answer}
    if dest is not None:
        local = Path(dest).resolve() / folder
        bucket = outputs[RUN_BUCKET]
        result["downloaded"] = download(run.aws, f"s3://{bucket}/{scratch}", local)
        result.pop("uploaded", None)
    return result


def run_step(aws: Aws, outputs: dict[str, str], event: dict[str, Any], key: str) -> Any:
    """Submit the files step as a runner job, wait for it, read its answer from the bucket."""
    fields = [arg for k, v in event.items() for arg in ("--field", k, json.dumps(v))]
    command = ["python3", "-m", "wdl2sfn.task_runner", "files", *fields, "--result-key", key]
    batch = aws.client("batch")
    submitted = _aws_call(
        "SubmitJob (files runner job)",
        batch.submit_job,
        jobName="wdl2sfn-files",
        jobQueue=outputs[RUNNER_QUEUE],
        jobDefinition=outputs[RUNNER_JOB_DEFINITION],
        containerOverrides={"command": command},
    )
    job_id = str(submitted["jobId"])
    _note(f"wdl2sfn: files: runner job {job_id} submitted (it waits for a Batch instance)")
    job = _wait_for_job(aws, job_id)
    if job.get("status") != "SUCCEEDED":
        stream = (job.get("container") or {}).get("logStreamName", "")
        raise AwsBackendError(
            f"files runner job {job_id} {job.get('status')}: {job.get('statusReason', '')} "
            f"(logs: CloudWatch {LOG_GROUP} {stream})"
        )
    return read_s3_json(aws, f"s3://{outputs[RUN_BUCKET]}/{key}")


def _wait_for_job(aws: Aws, job_id: str) -> dict[str, Any]:
    batch = aws.client("batch")
    deadline = time.monotonic() + JOB_GIVE_UP_SECONDS
    while True:
        found = _aws_call("DescribeJobs", batch.describe_jobs, jobs=[job_id]).get("jobs") or []
        job = dict(found[0]) if found else {}
        if job.get("status") in ("SUCCEEDED", "FAILED"):
            return job
        if time.monotonic() > deadline:
            raise AwsBackendError(f"files runner job {job_id} still {job.get('status')}")
        time.sleep(poll_seconds())
