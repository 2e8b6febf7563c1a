"""The AWS journey, run commands: `list`, `status`, `logs`, `outputs [--get]` and `stop` with
`--backend aws`, a run named by its execution name or ARN."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, Served, serve

pytestmark = pytest.mark.slow
JOURNEY = REPO / "tests" / "fixtures" / "journey"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def run(served: Served) -> dict[str, Any]:
    """A finished run of chatty.wdl: its name and what `run --wait` printed."""
    done = served.cli("run", str(JOURNEY / "chatty.wdl"), "--backend", "aws", "--wait")
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads(done.stdout)
    return {"name": printed["dir"].rstrip("/").rsplit("/", 1)[-1], "printed": printed}


def ok(done: Any) -> Any:
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return json.loads(done.stdout)


def test_list_shows_the_run_with_its_workflow_and_status(served: Served, run: Any) -> None:
    listed = ok(served.cli("list", "--backend", "aws"))
    (entry,) = [r for r in listed if r["run"] == run["name"]]
    assert (entry["workflow"], entry["status"]) == ("chatty", "SUCCEEDED")


def test_status_counts_the_calls_of_map_run_children(served: Served, run: Any) -> None:
    status = ok(served.cli("status", run["name"], "--backend", "aws"))
    assert status["status"] == "SUCCEEDED"
    assert status["calls"]["say"]["done"] == 2
    assert status["scatters"] == {"scatter w in words": 2}
    assert status["executions"] >= 2  # the parent and the Map Run's child


def test_status_takes_the_execution_arn_as_well(served: Served, run: Any) -> None:
    by_name = ok(served.cli("status", run["name"], "--backend", "aws"))
    by_arn = ok(served.cli("status", by_name["execution_arn"], "--backend", "aws"))
    assert by_arn["run"] == run["name"]


def test_logs_prints_each_jobs_cloudwatch_stream(served: Served, run: Any) -> None:
    done = served.cli("logs", run["name"], "--backend", "aws")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("CloudWatch /aws/batch/job ") >= 3  # two tasks and the upload
    assert "log line for alpha" in done.stdout and "log line for beta" in done.stdout


def test_outputs_prints_what_run_wait_printed(served: Served, run: Any) -> None:
    assert ok(served.cli("outputs", run["name"], "--backend", "aws")) == run["printed"]


def test_outputs_get_downloads_the_run_and_points_at_the_files(
    served: Served, run: Any, tmp_path: Path
) -> None:
    got = ok(served.cli("outputs", run["name"], "--backend", "aws", "--get", str(tmp_path)))
    assert got["dir"] == str(tmp_path / run["name"])
    printed = got["outputs"]["chatty.printed"]
    assert [Path(p).read_text() for p in printed] == ["alpha!\n", "beta!\n"]
    assert (tmp_path / run["name"] / "outputs.json").is_file()


def test_files_lists_the_run_folder_on_the_file_system_through_a_runner_job(
    served: Served, run: Any
) -> None:
    listed = ok(served.cli("files", run["name"], "calls", "-r", "--backend", "aws"))
    paths = {e["path"] for e in listed["entries"] if e["type"] == "file"}
    assert {p for p in paths if p.endswith("/stderr.txt")}, paths
    assert listed["truncated"] is False
    jobs = served.client("batch").list_jobs(jobQueue=served.outputs()["RunnerQueueArn"],
                                           jobStatus="SUCCEEDED")["jobSummaryList"]  # fmt: skip
    assert any(j["jobName"] == "wdl2sfn-files" for j in jobs)


def test_files_get_fetches_a_call_folder_from_the_file_system(
    served: Served, run: Any, tmp_path: Path
) -> None:
    got = ok(served.cli("files", run["name"], "calls", "--get", str(tmp_path), "--backend", "aws"))
    stdouts = sorted(Path(p).read_text() for p in got["downloaded"] if p.endswith("stdout.txt"))
    assert stdouts == ["alpha!\n", "beta!\n"]
    assert all(p.startswith(str(tmp_path / run["name"] / "calls")) for p in got["downloaded"])


def test_files_refuses_a_path_out_of_the_run_folder(served: Served, run: Any) -> None:
    done = served.cli("files", run["name"], "../_CACHE", "--backend", "aws")
    assert done.returncode == 2
    assert "outside run" in done.stderr


def test_an_unknown_run_is_a_usage_error(served: Served) -> None:
    done = served.cli("status", "20200101_000000_nothing", "--backend", "aws")
    assert done.returncode == 2
    assert "no such execution" in done.stderr


def test_stop_terminates_running_jobs_and_aborts_the_run(served: Served) -> None:
    started = ok(served.cli("run", str(JOURNEY / "sleepy.wdl"), "--backend", "aws"))
    arn = started["execution_arn"]
    batch = served.client("batch")
    deadline = time.time() + 240
    while True:
        status = ok(served.cli("status", arn, "--backend", "aws"))
        if status["tasks"]["running"] == 2:  # submitted to Batch, not ended
            break
        assert time.time() < deadline, status
        time.sleep(1)
    stopped = ok(served.cli("stop", arn))
    assert stopped["status"] == "ABORTED"
    assert sorted(stopped["terminated_jobs"]) == ["sleepy-nap-0", "sleepy-nap-1"]
    queues = [q["jobQueueArn"] for q in batch.describe_job_queues()["jobQueues"]]
    sfn = served.client("stepfunctions")
    calls = call_executions(sfn, arn)
    assert len(calls) == 2  # each shard's call runs in a call machine execution of its own
    deadline = time.time() + 120
    while True:  # the jobs' processes are killed (SIGTERM, then SIGKILL after a grace time)
        running = [j for q in queues for j in batch.list_jobs(jobQueue=q, jobStatus="RUNNING")
                   ["jobSummaryList"] if j["jobName"].startswith("sleepy-nap")]  # fmt: skip
        ended = {sfn.describe_execution(executionArn=c)["status"] for c in calls}
        if not running and ended == {"ABORTED"}:  # the parent's stop stops its .sync children
            break
        assert time.time() < deadline, (running, ended)
        time.sleep(1)


def call_executions(sfn: Any, arn: str) -> list[str]:
    """The call machine executions a run's ``states`` Tasks started, in the parent and in its
    Map Run children (not the start and finish machines')."""
    found, todo = [], [arn]
    while todo:
        for event in sfn.get_execution_history(executionArn=todo.pop())["events"]:
            map_run = (event.get("mapRunStartedEventDetails") or {}).get("mapRunArn")
            if map_run:
                children = sfn.list_executions(mapRunArn=map_run)["executions"]
                todo += [c["executionArn"] for c in children]
            submitted = event.get("taskSubmittedEventDetails") or {}
            child = json.loads(submitted.get("output") or "{}").get("ExecutionArn", "")
            if submitted.get("resourceType") == "states" and "-wdl2sfn-call:" in child:
                found.append(child)
    return found


def test_cost_measures_transitions_lambda_and_batch_of_the_run(served: Served, run: Any) -> None:
    cost = ok(served.cli("cost", run["name"], "--backend", "aws"))
    usage = cost["usage"]
    assert usage["batch_jobs"] == 3  # two shards and the upload
    assert usage["batch_vcpu_hours"] > 0 and usage["lambda_gb_seconds"] > 0
    assert usage["lambda_requests"] >= 6  # init, eval, 2 x prepare, 2 x collect, finalize
    assert cost["total_usd"] == pytest.approx(sum(cost["usd"].values()), abs=1e-5)
    assert cost["miniwdl_aws_engine_job_usd"] > 0


def test_local_cost_counts_each_state_entered_as_a_transition(tmp_path: Path) -> None:
    from wdl2sfn.runs.failure import execution_histories
    from wdl2sfn.statemachine.history import read_events

    from .conftest import cli

    done = cli("run", str(JOURNEY / "chatty.wdl"), "--dir", str(tmp_path))
    run_dir = Path(json.loads(done.stdout)["dir"])
    cost = ok(cli("cost", run_dir.name, "--dir", str(tmp_path)))
    entered = sum(1 for h in execution_histories(run_dir) for e in read_events(h)
                  if e["type"].endswith("StateEntered"))  # fmt: skip
    assert cost["usage"]["state_transitions"] == entered
    assert cost["usage"]["batch_jobs"] == 2
    assert cost["usd"]["state_transitions"] == pytest.approx(entered * 0.000025, abs=1e-6)


def test_self_test_on_aws_reads_names_scatters_and_gathers(served: Served, tmp_path: Path) -> None:
    done = served.cli("self-test", "--backend", "aws", "-d", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    checks = {c["check"]: c for c in json.loads(done.stdout)["checks"]}
    assert all(c["ok"] for c in checks.values()) and len(checks) == 3
    assert "s3://" in checks["a gather wrote every greeting to one file"]["detail"]
    assert done.stderr.count("self-test: ok   ") == 3


def test_self_test_gpu_runs_on_the_gpu_queue_and_fails_without_a_gpu(
    served: Served, tmp_path: Path
) -> None:
    done = served.cli("self-test", "--backend", "aws", "--gpu", "-d", str(tmp_path))
    queue = served.outputs()["GpuQueueArn"]
    checks = {c["check"]: c for c in json.loads(done.stdout)["checks"]}
    on_gpu = checks["the task ran on the GPU queue with a GPU"]
    # the job went to the GPU queue with 1 GPU requested, but this machine has none: not ok
    assert not on_gpu["ok"], checks
    assert queue in on_gpu["detail"] and "1 GPU requested, none visible" in on_gpu["detail"]
    assert not checks["a gpu: true task saw a GPU (nvidia-smi)"]["ok"]  # this machine has none
    assert done.returncode == 1


def test_a_shipped_input_file_is_read_at_the_workflow_level(served: Served, tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("Alice\nBob\n")
    done = served.cli("run", str(JOURNEY / "read_names.wdl"), f"names={names}", "--backend",
                      "aws", "--wait")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["outputs"] == {"rl.out": ["Alice", "Bob"]}
