"""The JOB prepare_task returns, submitted to the local Batch the way the compiled ASL submits it
(batch:submitJob.sync Parameters), including the spot -> on-demand fallback of recover_task."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import WDL

from wdl2sfn.backends.local.batch import FaultPlan, LocalBatch
from wdl2sfn.task_runner.errors import WdlTaskFailed
from wdl2sfn.task_runner.task import TaskContext, collect_task, prepare_task, recover_task


@pytest.fixture
def batch(tmp_path: Path) -> Iterator[LocalBatch]:
    lb = LocalBatch(
        cpus=4,
        memory_mib=8192,
        gpus=0,
        log_dir=tmp_path / "logs",
        faults=FaultPlan([{"job": "spot-*", "attempts": [1, 2]}]),
    )
    yield lb
    lb.shutdown()


def submit_params(job: dict[str, Any]) -> dict[str, Any]:
    """What the state machine passes to batch:submitJob.sync for a JOB."""
    return {
        "JobName": job["name"],
        "JobQueue": job["queue"],
        "JobDefinition": job["definition"],
        "ContainerOverrides": job["overrides"],
    }


def failure_of(lb: LocalBatch, job: dict[str, Any]) -> dict[str, Any] | None:
    try:
        lb.submit_job_sync(submit_params(job), threading.Event())
        return None
    except Exception as exn:  # TaskFailure("States.TaskFailed", <description JSON>)
        return {"Error": getattr(exn, "error", "States.TaskFailed"), "Cause": exn.cause}  # type: ignore[attr-defined]


def make(
    tmp_path: Path, lb: LocalBatch, src: str, job_name: str, version: str = "1.1"
) -> tuple[WDL.Tree.Task, TaskContext]:
    wdl = tmp_path / "t.wdl"
    wdl.write_text(f"version {version}\n" + src)
    task = WDL.load(str(wdl)).tasks[0]
    q = lb.queues
    ctx = TaskContext(
        call_dir=tmp_path / "store" / "run" / "calls" / "call-t",
        call_name="t",
        job_name=job_name,
        queues={"cpu": q["wdl2sfn-cpu"], "spot": q["wdl2sfn-spot"], "gpu": q["wdl2sfn-gpu"]},
        job_definitions=lb,
        store_root=tmp_path / "store",
        cache_root=None,
    )
    return task, ctx


def test_job_runs_on_local_batch_and_collects(tmp_path: Path, batch: LocalBatch) -> None:
    task, ctx = make(
        tmp_path,
        batch,
        'task t { command <<< echo hi > o.txt >>> runtime { cpu: 2 memory: "1 GiB" } '
        'output { String s = read_string("o.txt") } }',
        "od-call-t",
    )
    job = prepare_task(task, WDL.Env.Bindings(), ctx).job
    assert job is not None
    assert failure_of(batch, job) is None
    assert WDL.values_to_json(collect_task(task, ctx)) == {"s": "hi"}


def test_spot_interruptions_fall_back_to_on_demand(tmp_path: Path, batch: LocalBatch) -> None:
    # the fault plan reclaims attempts 1 and 2 of spot-* jobs: both spot attempts are lost
    task, ctx = make(
        tmp_path,
        batch,
        "task t { command <<< echo done >>> runtime { preemptible: 2 } "
        "output { String s = read_string(stdout()) } }",
        "spot-call-t",
    )
    job = prepare_task(task, WDL.Env.Bindings(), ctx).job
    assert job is not None and job["queue"] == ctx.queues["spot"]
    error = failure_of(batch, job)
    assert error is not None and error["Error"] == "States.TaskFailed"
    assert "Host EC2" in json.loads(error["Cause"])["StatusReason"]
    od = recover_task(task, ctx, error)
    assert od["queue"] == ctx.queues["cpu"]
    od = dict(od, name="ondemand-call-t")  # not matched by the fault plan
    assert failure_of(batch, od) is None
    assert WDL.values_to_json(collect_task(task, ctx)) == {"s": "done"}


def test_task_attempt_goes_on_counting_after_the_fallback_to_on_demand(
    tmp_path: Path, batch: LocalBatch
) -> None:
    # WDL 1.2: "incremented by 1 each time the task is retried"; the on-demand job is a new Batch
    # job whose attempts Batch numbers from 1 again, after the 2 spot attempts the plan reclaims
    task, ctx = make(
        tmp_path,
        batch,
        "task t { command <<< echo ~{task.attempt} >>> requirements { max_retries: 1 preemptible: 2 } "
        "output { String s = read_string(stdout()) Int a = task.attempt } }",
        "spot-call-t",
        version="1.2",
    )
    job = prepare_task(task, WDL.Env.Bindings(), ctx).job
    assert job is not None and job["queue"] == ctx.queues["spot"]
    error = failure_of(batch, job)
    assert error is not None
    od = dict(recover_task(task, ctx, error), name="ondemand-call-t")
    assert failure_of(batch, od) is None
    assert WDL.values_to_json(collect_task(task, ctx)) == {"s": "2", "a": 2}


def test_command_failure_on_local_batch_raises_task_failed(
    tmp_path: Path, batch: LocalBatch
) -> None:
    task, ctx = make(
        tmp_path, batch, "task t { command <<< echo bad >&2; exit 3 >>> }", "fail-call-t"
    )
    job = prepare_task(task, WDL.Env.Bindings(), ctx).job
    assert job is not None
    error = failure_of(batch, job)
    assert error is not None
    with pytest.raises(WdlTaskFailed, match="exit status 3") as ei:
        recover_task(task, ctx, error)
    assert "bad" in str(ei.value)
