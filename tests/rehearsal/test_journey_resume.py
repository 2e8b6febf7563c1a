"""The AWS journey, resume: `wdl2sfn resume RUN` redrives a failed run from its failed state
(the rehearsal's RedriveExecution, which keeps the calls that succeeded without asking the call
cache); locally it runs the run again with the call cache."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, Served, cli, serve

pytestmark = pytest.mark.slow
FLAKY = REPO / "tests" / "fixtures" / "journey" / "flaky.wdl"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("served"))


def failed_run(served: Served) -> dict[str, Any]:
    done = served.cli("run", str(FLAKY), f"token={uuid.uuid4().hex}", "--backend", "aws",
                      "--wait")  # fmt: skip
    assert done.returncode == 5, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


def test_resume_redrives_the_failed_execution_to_success(served: Served) -> None:
    arn = failed_run(served)["execution_arn"]
    resumed = served.cli("resume", arn, "--wait")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout)["outputs"] == {"flaky.out": [0, 1]}
    sfn = served.client("stepfunctions")
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    events = sfn.get_execution_history(executionArn=arn)["events"]
    assert [e["type"] for e in events].count("ExecutionRedriven") == 1
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))


def test_a_redriven_run_keeps_the_calls_that_finished_without_the_call_cache(
    served: Served,
) -> None:
    arn = failed_run(served)["execution_arn"]
    assert served.cli("resume", arn, "--wait").returncode == 0
    status = json.loads(served.cli("status", arn, "--backend", "aws").stdout)
    assert status["status"] == "SUCCEEDED"
    calls = status["calls"]["once_failing"]
    assert calls["cached"] == 0  # preserved by the redrive, not looked up in the cache
    assert (calls["started"], calls["done"]) == (2, 2)  # nor counted twice


def test_resume_by_run_name_prints_the_redrive(served: Served) -> None:
    arn = failed_run(served)["execution_arn"]
    resumed = served.cli("resume", arn.rsplit(":", 1)[-1], "--backend", "aws")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    answer = json.loads(resumed.stdout)
    assert (answer["mode"], answer["execution_arn"], answer["reason"]) == ("redrive", arn, None)


def test_resume_refuses_a_run_that_succeeded(served: Served) -> None:
    arn = failed_run(served)["execution_arn"]
    assert served.cli("resume", arn, "--wait").returncode == 0
    again = served.cli("resume", arn)
    assert again.returncode == 2
    assert "SUCCEEDED: nothing to resume" in again.stderr


def test_local_resume_runs_again_with_the_call_cache(tmp_path: Path) -> None:
    args = ["run", str(FLAKY), "token=local", f"marker_dir={tmp_path}", "--dir", str(tmp_path)]
    first = cli(*args)
    assert first.returncode == 5, first.stderr[-3000:]
    name = Path(json.loads(first.stdout)["dir"]).name
    resumed = cli("resume", name, "--dir", str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout)["outputs"] == {"flaky.out": [0, 1]}
    assert "cached 1" in resumed.stderr


def task_jobs(served: Served) -> list[dict[str, Any]]:
    """Task jobs submitted so far in the served account (`aws-calls.jsonl`; the runner queue's
    upload job, which the failed attempt never reached, left out)."""
    with (served.folder / "aws-calls.jsonl").open() as calls:
        return [c for c in map(json.loads, calls)
                if c["action"] == "SubmitJob" and "RunnerQueue" not in c["resource"]]  # fmt: skip


def test_a_redrive_without_the_call_cache_reruns_only_the_failed_shard(served: Served) -> None:
    # RedriveExecution: "Step Functions preserves the results and execution history of the
    # successful steps, and doesn't rerun these steps when you redrive an execution. [...]
    # For workflows that include an Inline Map or Parallel state, RedriveExecution API action
    # reschedules and redrives only the iterations and branches that failed or aborted."
    done = served.cli("run", str(FLAKY), f"token={uuid.uuid4().hex}", "--backend", "aws",
                      "--no-cache", "--wait")  # fmt: skip
    assert done.returncode == 5, done.stderr[-3000:]
    arn = json.loads(done.stdout)["execution_arn"]
    before = len(task_jobs(served))
    resumed = served.cli("resume", arn, "--wait")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout)["outputs"] == {"flaky.out": [0, 1]}
    again = task_jobs(served)[before:]
    assert len(again) == 1, again  # shard 1 only; shard 0 is not submitted again
    described = served.client("stepfunctions").describe_execution(executionArn=arn)
    assert described["redriveCount"] == 1


def test_redriving_an_execution_that_succeeded_is_refused_as_aws_refuses_it(
    served: Served,
) -> None:
    from botocore.exceptions import ClientError

    arn = failed_run(served)["execution_arn"]
    assert served.cli("resume", arn, "--wait").returncode == 0
    sfn = served.client("stepfunctions")
    described = sfn.describe_execution(executionArn=arn)
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    assert described["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven."
    with pytest.raises(ClientError) as refused:
        sfn.redrive_execution(executionArn=arn)
    assert refused.value.response["Error"]["Code"] == "ExecutionNotRedrivable"
