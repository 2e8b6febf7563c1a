"""Capacity and quotas, rehearsed as AWS decides them (issue 20, items 21 and 22): a job no
compute environment can place stays RUNNABLE until its queue's time-limit action cancels it,
and requests past AWS's rate and concurrency quotas are throttled with the error AWS returns,
recorded in aws-calls.jsonl, so the run shows whether the stack's retries hold."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import FIXTURES, SAMPLES, Rehearsed, Served, clean_env, cli, serve

WIDE = SAMPLES / "wide_scatter" / "wide_scatter.wdl"
pytestmark = pytest.mark.slow


def _rehearse(tmp: Path, wdl: Path, *args: str, **env: str) -> Rehearsed:
    done = cli("rehearse", str(wdl), *args, "--dir", str(tmp), cwd=wdl.parent,
               env=clean_env(**env))  # fmt: skip
    (folder,) = tmp.iterdir()
    return Rehearsed(done.returncode, done.stdout, done.stderr, folder)


def test_a_wide_scatter_over_lowered_quotas_is_throttled_and_its_retries_hold(
    tmp_path: Path,
) -> None:
    """Batch answers SubmitJob past its rate with TooManyRequestsException (HTTP 429), Lambda
    an invocation past the account's concurrency with TooManyRequestsException: the machine's
    Retry on Batch.TooManyRequestsException and Lambda.TooManyRequestsException absorbs both."""
    quotas = {"batch:SubmitJob": [1, 2], "LambdaConcurrency": 3}
    done = _rehearse(tmp_path, WIDE, "n=12", WDL2SFN_REHEARSAL_QUOTAS=json.dumps(quotas))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.result["outputs"]["wide_scatter.outs"] == list(range(12))
    throttled = {c["action"] for c in done.calls() if c.get("throttled")}
    assert {"SubmitJob", "InvokeFunction"} <= throttled


def test_a_throttled_call_that_retries_cannot_absorb_fails_the_run_with_aws_error(
    tmp_path: Path,
) -> None:
    """With no Lambda concurrency left, every invocation is throttled: once the state's
    retries are spent the run fails with Lambda.TooManyRequestsException, as on AWS."""
    quotas = {"LambdaConcurrency": 0}
    done = _rehearse(tmp_path, SAMPLES / "hello" / "hello.wdl", "-i", "inputs.json",
                     WDL2SFN_REHEARSAL_QUOTAS=json.dumps(quotas))  # fmt: skip
    assert done.returncode != 0
    assert "Lambda.TooManyRequestsException" in done.stdout + done.stderr
    assert any(c.get("throttled") for c in done.calls() if c["action"] == "InvokeFunction")


def test_a_job_no_instance_type_can_hold_stays_runnable_until_its_queue_cancels_it(
    tmp_path: Path,
) -> None:
    """AWS Batch never places a job above every allowed instance type: it stays RUNNABLE with
    statusReason MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT, and the queue's
    jobStateTimeLimitActions cancel it after maxTimeSeconds (shortened here), failing the run."""
    done = _rehearse(tmp_path, FIXTURES / "unplaceable.wdl", WDL2SFN_REHEARSAL_RUNNABLE_SECONDS="2")
    assert done.returncode != 0
    assert "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT" in done.stdout + done.stderr
    logs = [p.read_text() for p in (done.folder / "batch-logs").glob("*.log")]
    assert all("placed" not in text for text in logs)  # the command never ran


def test_state_transitions_past_their_bucket_wait_for_the_refill_and_the_run_succeeds(
    tmp_path: Path,
) -> None:
    """Step Functions throttles state transitions with a token bucket shared by every state
    machine of the account ("Quotas related to state throttling"; CloudWatch's
    ThrottledEvents: "the number of throttled state transitions"): a throttled transition is
    delayed, not failed. With a bucket of 1 refilled every 2 seconds, most of hello's 8
    transitions wait; the run still succeeds, and each delayed transition is recorded."""
    quotas = {"states:StateTransition": [0.5, 1]}
    done = _rehearse(tmp_path, SAMPLES / "hello" / "hello.wdl", "-i", "inputs.json",
                     WDL2SFN_REHEARSAL_QUOTAS=json.dumps(quotas))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    delayed = [c for c in done.calls() if c["action"] == "StateTransition" and c["throttled"]]
    assert len(delayed) >= 3  # a Choice and the Task after it follow at once, at least


def test_start_execution_past_its_bucket_is_refused_with_throttling_exception(
    tmp_path: Path,
) -> None:
    """Step Functions throttles StartExecution with a token bucket ("Quotas related to API
    action throttling"): with an empty bucket, the CLI's own retries are spent and `run` fails
    naming ThrottlingException; each refused call is recorded as throttled."""
    quotas = {"states:StartExecution": [0, 0]}
    done = _rehearse(tmp_path, SAMPLES / "hello" / "hello.wdl", "-i", "inputs.json",
                     WDL2SFN_REHEARSAL_QUOTAS=json.dumps(quotas))  # fmt: skip
    assert done.returncode != 0
    assert "ThrottlingException" in done.stdout + done.stderr
    starts = [c for c in done.calls() if c["action"] == "StartExecution"]
    assert starts and all(c.get("throttled") for c in starts)


# ------------------------------------------------------------------ definitions honoured whole


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("served"), WDL2SFN_REHEARSAL_RUNNABLE_SECONDS="4")


def _run_job(served: Served, name: str, command: str, queue: str = "CpuQueueArn",
             seen: list[str] | None = None, **definition: Any) -> dict[str, Any]:  # fmt: skip
    """Register ``name`` (host-process job: WDL2SFN_CONTAINER=host) and submit it to the
    stack's ``queue`` as the operator; its DescribeJobs record once it has ended (``seen``
    gets each "status: statusReason" on the way)."""
    batch = served.client("batch")
    props = {
        "image": "public.ecr.aws/docker/library/bash:5",
        "vcpus": 1,
        "memory": 64,
        "command": ["bash", "-c", command],
        **definition.pop("container", {}),
    }
    batch.register_job_definition(
        jobDefinitionName=name, type="container",
        containerProperties={k: v for k, v in props.items() if v is not None}, **definition,
    )  # fmt: skip
    arn = served.outputs()[queue]
    job_id = batch.submit_job(jobName=name, jobQueue=arn, jobDefinition=name)["jobId"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        (job,) = batch.describe_jobs(jobs=[job_id])["jobs"]
        if seen is not None:
            seen.append(f"{job['status']}: {job.get('statusReason', '')}")
        if job["status"] in ("SUCCEEDED", "FAILED"):
            return dict(job)
        time.sleep(0.5)
    raise AssertionError(f"job {name} did not end: {job['status']}")


def test_a_definitions_attempt_timeout_fails_the_job_with_batchs_reason(served: Served) -> None:
    """Batch (job_timeouts): a job attempt that runs past attemptDurationSeconds is terminated,
    "Job attempt duration exceeded timeout", and not retried (AWS's minimum is 60 s; the
    rehearsal accepts less so the test is short)."""
    job = _run_job(served, "timeboxed", "sleep 30", timeout={"attemptDurationSeconds": 2},
                   retryStrategy={"attempts": 2})  # fmt: skip
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Job attempt duration exceeded timeout"
    assert len(job["attempts"]) == 1


@pytest.mark.parametrize(("code", "attempts"), [(3, 3), (4, 1)])
def test_a_definitions_evaluate_on_exit_decides_each_retry(
    served: Served, code: int, attempts: int
) -> None:
    """EvaluateOnExit: the first rule whose patterns all match decides, RETRY or EXIT; a
    pattern "can optionally end with an asterisk (*) so that only the start of the string needs
    to be an exact match" (API_EvaluateOnExit)."""
    rules = [{"onExitCode": "3*", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}]
    job = _run_job(served, f"exits-{code}", f"exit {code}",
                   retryStrategy={"attempts": 3, "evaluateOnExit": rules})  # fmt: skip
    assert job["status"] == "FAILED"
    assert len(job["attempts"]) == attempts


def test_linux_parameters_a_host_process_cannot_get_are_said_in_the_jobs_log(
    served: Served,
) -> None:
    """A job run as a host process gets no container: its definition's user and
    linuxParameters are not applied, and its log (CloudWatch Logs) says so."""
    job = _run_job(served, "shm", "echo ran",
                   container={"user": "4321", "linuxParameters": {"sharedMemorySize": 64}})  # fmt: skip
    assert job["status"] == "SUCCEEDED"
    logs = served.client("logs").get_log_events(
        logGroupName="/aws/batch/job", logStreamName=job["container"]["logStreamName"]
    )
    text = "\n".join(event["message"] for event in logs["events"])
    assert "user, linuxParameters.sharedMemorySize not applied" in text


def test_a_job_above_its_environments_max_vcpus_stays_runnable_then_its_queue_cancels_it(
    served: Served,
) -> None:
    """8 GPUs fit a g5.48xlarge, but 96 vCPUs exceed the GPU environment's maxvCpus (64):
    RUNNABLE with MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE, as DescribeJobs shows it,
    until the queue's time-limit action cancels it (4 s here, 600 s in the stack)."""
    seen: list[str] = []
    resources = [{"type": "VCPU", "value": "96"}, {"type": "MEMORY", "value": "1024"},
                 {"type": "GPU", "value": "8"}]  # fmt: skip
    job = _run_job(served, "wide-gpu", "echo ran", queue="GpuQueueArn", seen=seen,
                   container={"resourceRequirements": resources, "vcpus": None,
                              "memory": None})  # fmt: skip
    reason = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
    assert f"RUNNABLE: {reason}" in seen
    assert job["status"] == "FAILED"
    assert job["statusReason"] == reason
    assert job["attempts"] == []  # never placed, never started
