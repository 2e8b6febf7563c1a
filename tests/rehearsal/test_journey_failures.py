"""The AWS journey, failures: a failed run on AWS ends as the same run fails locally (exit
status, error JSON, a last stderr line naming call, shard, exit status, stderr's last line,
the CloudWatch stream and the call folder), found through the Map Run's child executions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO, Served, serve

pytestmark = pytest.mark.slow
FAILING = REPO / "tests" / "fixtures" / "journey" / "failing_shard.wdl"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def failed(served: Served) -> tuple[int, dict[str, object], str]:
    done = served.cli("run", str(FAILING), "--backend", "aws", "--wait")
    return done.returncode, json.loads(done.stdout), done.stderr


def test_a_failed_shard_exits_with_the_tasks_exit_status(
    failed: tuple[int, dict[str, object], str],
) -> None:
    code, error, stderr = failed
    assert code == 3, stderr[-3000:]


def test_the_error_json_names_call_shard_exit_status_and_log_stream(
    failed: tuple[int, dict[str, object], str],
) -> None:
    _, error, _ = failed
    assert (error["error"], error["wdl2sfn_error"]) == ("RunFailed", "WdlTaskFailed")
    assert error["cause"]["error"] == "CommandFailed" and error["cause"]["exit_status"] == 3
    assert (error["call"], error["shard"], error["exit_status"]) == ("maybe_fail", [1], 3)
    assert str(error["call_dir"]).endswith("/calls/maybe_fail/shard-1")
    assert error["log_group"] == "/aws/batch/job"
    assert str(error["log_stream"]).count("/") == 2  # <job definition>/default/<task id>


def test_the_last_stderr_line_names_what_failed_and_where_its_logs_are(
    failed: tuple[int, dict[str, object], str],
) -> None:
    _, error, stderr = failed
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(
        "wdl2sfn: call maybe_fail (shard 1) failed with exit status 3: cannot process item 2"
    )
    assert f"CloudWatch /aws/batch/job {error['log_stream']}" in last
    assert str(error["call_dir"]) in last


def test_the_failure_reads_as_the_same_run_failing_locally(
    failed: tuple[int, dict[str, object], str], served: Served, tmp_path: Path
) -> None:
    code, error, _ = failed
    local = served.cli("run", str(FAILING), "--dir", str(tmp_path))
    local_error = json.loads(local.stdout)
    assert local.returncode == code
    for key in ("error", "call", "shard", "exit_status"):
        assert error[key] == local_error[key], key
    head = local_error["summary"].split(" (logs: ")[0]
    assert str(error["summary"]).startswith(head)


def test_map_runs_and_their_children_are_listed_by_the_step_functions_api(
    failed: tuple[int, dict[str, object], str], served: Served
) -> None:
    _, error, _ = failed
    sfn = served.client("stepfunctions")
    (run,) = sfn.list_map_runs(executionArn=error["execution_arn"])["mapRuns"]
    described = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
    assert described["status"] == "FAILED"
    assert described["executionCounts"]["failed"] >= 1
    children = sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]
    assert {c["status"] for c in children} <= {"SUCCEEDED", "FAILED", "ABORTED"}
    failed_child = sfn.describe_execution(executionArn=error["failed_execution_arn"])
    assert failed_child["status"] == "FAILED"
    history = sfn.get_execution_history(executionArn=error["failed_execution_arn"])["events"]
    assert history[0]["type"] == "ExecutionStarted"


def test_a_wdl_error_names_the_file_as_written_not_its_copy_in_the_run_folder(
    served: Served,
) -> None:
    """The run-time steps load the sources from <store>/<run>/wdl/: the user wrote
    bad_index.wdl, and that is the place the error names (as a local run names it)."""
    done = served.cli("run", str(REPO / "tests" / "fixtures" / "journey" / "bad_index.wdl"),
                      "--backend", "aws", "--wait")  # fmt: skip
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "bad_index.wdl:4:3: call t: Array index out of bounds" in last, last
    assert "/runs/" not in json.loads(done.stdout)["message"]
