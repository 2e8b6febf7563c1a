"""The AWS journey, following: `run --backend aws --follow` shows the live view of a local run,
fed from the execution histories (parent and Map Run children), Batch's DescribeJobs and, with
--verbose, the task's log lines from CloudWatch Logs; Ctrl-C leaves the run going."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from .conftest import REPO, Served, serve

pytestmark = pytest.mark.slow
CHATTY = REPO / "tests" / "fixtures" / "journey" / "chatty.wdl"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def followed(served: Served) -> subprocess.CompletedProcess[str]:
    return served.cli("run", str(CHATTY), "--backend", "aws", "--follow", "--verbose")


def test_a_followed_run_prints_the_outputs_of_a_waited_run(
    followed: subprocess.CompletedProcess[str],
) -> None:
    assert followed.returncode == 0, followed.stderr[-3000:]
    assert json.loads(followed.stdout)["outputs"]["chatty.said"] == ["alpha!", "beta!"]


def test_task_log_lines_come_from_cloudwatch_logs_with_verbose(
    followed: subprocess.CompletedProcess[str],
) -> None:
    lines = followed.stderr.splitlines()
    for word in ("alpha", "beta"):
        assert any(ln.startswith("[") and ln.endswith(f"] log line for {word}") for ln in lines)


def test_batch_job_status_changes_are_shown_with_verbose(
    followed: subprocess.CompletedProcess[str],
) -> None:
    assert followed.stderr.count(": SUCCEEDED (") + followed.stderr.count(": SUCCEEDED\n") >= 2


def test_the_live_view_counts_the_calls_of_map_run_children(
    followed: subprocess.CompletedProcess[str],
) -> None:
    assert "tasks 2 finished (cached 0)" in followed.stderr
    assert "  say " in followed.stderr


def test_describe_jobs_follows_the_job_and_names_its_log_stream(served: Served) -> None:
    batch = served.client("batch")
    queues = [q["jobQueueArn"] for q in batch.describe_job_queues()["jobQueues"]]
    ids = [j["jobId"] for q in queues for s in ("SUCCEEDED",)
           for j in batch.list_jobs(jobQueue=q, jobStatus=s)["jobSummaryList"]]  # fmt: skip
    jobs = batch.describe_jobs(jobs=ids)["jobs"]
    said = [j for j in jobs if j["jobName"].startswith("chatty-say")]
    assert said, [j["jobName"] for j in jobs]
    for job in said:
        assert job["container"]["exitCode"] == 0
        assert job["stoppedAt"] >= job["startedAt"] > 0
        events = served.client("logs").get_log_events(
            logGroupName="/aws/batch/job", logStreamName=job["container"]["logStreamName"]
        )["events"]
        assert any(e["message"].startswith("log line for ") for e in events)


def test_ctrl_c_stops_following_and_leaves_the_run_going(served: Served) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wdl2sfn.cli", "run", str(CHATTY), "--backend", "aws",
         "--follow", "words=[\"gamma\"]"],
        env=served.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("execution arn:"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    arn = json.loads(out)["execution_arn"]
    assert "the run goes on" in err and f"wdl2sfn stop {arn} --backend aws" in err
    sfn = served.client("stepfunctions")
    deadline = time.time() + 300
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.time() < deadline
        time.sleep(1)
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
