"""Failure paths of one task call: exit statuses and returnCodes, error messages, output
containment, missing outputs, and recover_task after a failed Batch job."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import WDL

from wdl2sfn.task_runner.errors import WdlTaskFailed
from wdl2sfn.task_runner.task import TaskContext, collect_task, prepare_task, recover_task

QUEUES = {
    "cpu": "arn:aws:batch:local:000000000000:job-queue/wdl2sfn-cpu",
    "spot": "arn:aws:batch:local:000000000000:job-queue/wdl2sfn-spot",
    "gpu": "arn:aws:batch:local:000000000000:job-queue/wdl2sfn-gpu",
}


class FakeJobDefinitions:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def describe_job_definitions(self, **kw: Any) -> dict[str, Any]:
        return {"jobDefinitions": []}

    def register_job_definition(self, **kw: Any) -> dict[str, Any]:
        self.defs[kw["jobDefinitionName"]] = kw
        return {}


def load_task(tmp_path: Path, src: str) -> WDL.Tree.Task:
    wdl = tmp_path / "t.wdl"
    wdl.write_text("version 1.1\n" + src)
    return WDL.load(str(wdl)).tasks[0]


def make_ctx(tmp_path: Path) -> TaskContext:
    store = tmp_path / "store"
    return TaskContext(
        call_dir=store / "run" / "calls" / "call-t",
        call_name="t",
        job_name="test-call-t",
        queues=QUEUES,
        job_definitions=FakeJobDefinitions(),
        store_root=store,
        cache_root=None,
    )


def attempts(ctx: TaskContext, job: dict[str, Any]) -> int:
    """Batch attempts of a JOB: its job definition's retry strategy (SubmitJob names none)."""
    return int(ctx.job_definitions.defs[job["definition"]]["retryStrategy"]["attempts"])


def prepare_and_run(
    tmp_path: Path, src: str, inputs: dict[str, Any] | None = None
) -> tuple[WDL.Tree.Task, TaskContext, dict[str, Any], int]:
    task = load_task(tmp_path, src)
    ctx = make_ctx(tmp_path)
    job = prepare_task(task, WDL.values_from_json(inputs or {}, task.available_inputs), ctx).job
    assert job is not None
    env = dict(os.environ)
    env.update({e["Name"]: e["Value"] for e in job["overrides"]["Environment"]})
    proc = subprocess.run(job["overrides"]["Command"], env=env, capture_output=True, timeout=60)
    return task, ctx, job, proc.returncode


def batch_failure(queue: str, status_reason: str, exit_code: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"LogStreamName": "log/stream/1"}
    if exit_code is not None:
        container["ExitCode"] = exit_code
    desc = {
        "JobName": "test-call-t",
        "JobQueue": queue,
        "Status": "FAILED",
        "StatusReason": status_reason,
        "Attempts": [{"Container": container, "StatusReason": status_reason}],
        "Container": container,
    }
    return {"Error": "States.TaskFailed", "Cause": json.dumps(desc)}


# ---------------------------------------------------------------- returnCodes


def test_nonzero_exit_fails_the_job_and_collect(tmp_path: Path) -> None:
    task, ctx, _, status = prepare_and_run(tmp_path, "task t { command <<< exit 3 >>> }")
    assert status == 3  # Batch sees the failure
    assert (ctx.call_dir / "rc").read_text() == "3\n"
    with pytest.raises(WdlTaskFailed, match="exit status 3"):
        collect_task(task, ctx)


def test_return_codes_star_allows_any_status(tmp_path: Path) -> None:
    task, ctx, _, status = prepare_and_run(
        tmp_path, 'task t { command <<< exit 42 >>> runtime { returnCodes: "*" } }'
    )
    assert status == 0
    assert collect_task(task, ctx).has_binding("x") is False


def test_return_codes_list_allows_listed_nonzero_status(tmp_path: Path) -> None:
    task, ctx, _, status = prepare_and_run(
        tmp_path,
        "task t { command <<< echo hi; exit 2 >>> runtime { returnCodes: [0, 2] } "
        "output { String s = read_string(stdout()) } }",
    )
    assert status == 0
    assert WDL.values_to_json(collect_task(task, ctx)) == {"s": "hi"}


def test_return_codes_int_makes_zero_a_failure(tmp_path: Path) -> None:
    task, ctx, _, status = prepare_and_run(
        tmp_path, "task t { command <<< true >>> runtime { returnCodes: 1 } }"
    )
    assert status != 0
    assert (ctx.call_dir / "rc").read_text() == "0\n"
    with pytest.raises(WdlTaskFailed, match="exit status 0"):
        collect_task(task, ctx)


def test_failing_command_error_names_call_status_stderr_tail_and_paths(tmp_path: Path) -> None:
    task, ctx, _, _ = prepare_and_run(
        tmp_path,
        "task t { command <<< for i in $(seq 1 30); do echo line$i >&2; done; exit 5 >>> }",
    )
    with pytest.raises(WdlTaskFailed) as ei:
        collect_task(task, ctx)
    msg = str(ei.value)
    assert msg.startswith("task t failed with exit status 5")
    assert "line30" in msg and "line11" in msg and "line10\n" not in msg  # last 20 lines
    for name in ("stdout.txt", "stderr.txt", "command"):
        assert str(ctx.call_dir / name) in msg
    err = json.loads((ctx.call_dir / "error.json").read_text())
    assert err["error"] == "WdlTaskFailed"
    assert err["exit_code"] == 5 and err["call"] == "t"
    assert err["stderr_tail"].splitlines()[-1] == "line30"


def test_missing_rc_means_the_job_never_completed(tmp_path: Path) -> None:
    task = load_task(tmp_path, "task t { command <<< true >>> }")
    ctx = make_ctx(tmp_path)
    prepare_task(task, WDL.Env.Bindings(), ctx)
    with pytest.raises(WdlTaskFailed, match="did not run to completion"):
        collect_task(task, ctx)


# ---------------------------------------------------------------- outputs


def test_output_path_escaping_with_dotdot_is_rejected(tmp_path: Path) -> None:
    task, ctx, _, _ = prepare_and_run(
        tmp_path, 'task t { command <<< true >>> output { File f = "../../etc/passwd" } }'
    )
    with pytest.raises(WdlTaskFailed, match="outside the task's work directory"):
        collect_task(task, ctx)
    assert not (ctx.call_dir / "outputs.json").exists()


def test_absolute_output_path_outside_call_dir_is_rejected(tmp_path: Path) -> None:
    task, ctx, _, _ = prepare_and_run(
        tmp_path, 'task t { command <<< true >>> output { File f = "/etc/passwd" } }'
    )
    with pytest.raises(WdlTaskFailed, match="outside the task's work directory"):
        collect_task(task, ctx)


def test_output_symlink_escaping_the_call_dir_is_rejected(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s")
    task, ctx, _, _ = prepare_and_run(
        tmp_path,
        f'task t {{ command <<< ln -s {secret} link >>> output {{ File f = "link" }} }}',
    )
    with pytest.raises(WdlTaskFailed, match="outside the task's work directory"):
        collect_task(task, ctx)


def test_glob_matching_a_symlink_that_escapes_is_rejected(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s")
    task, ctx, _, _ = prepare_and_run(
        tmp_path,
        f'task t {{ command <<< ln -s {secret} x.txt >>> output {{ Array[File] fs = glob("*.txt") }} }}',
    )
    with pytest.raises(WdlTaskFailed, match="outside the task's work directory"):
        collect_task(task, ctx)


def test_read_of_a_path_outside_the_call_dir_is_rejected(tmp_path: Path) -> None:
    task, ctx, _, _ = prepare_and_run(
        tmp_path,
        'task t { command <<< true >>> output { String s = read_string("/etc/hostname") } }',
    )
    with pytest.raises(WdlTaskFailed, match="outside the task's work directory"):
        collect_task(task, ctx)


def test_missing_required_output_file_names_the_output(tmp_path: Path) -> None:
    task, ctx, _, _ = prepare_and_run(
        tmp_path, 'task t { command <<< true >>> output { File result = "result.txt" } }'
    )
    with pytest.raises(WdlTaskFailed, match="task output result"):
        collect_task(task, ctx)
    err = json.loads((ctx.call_dir / "error.json").read_text())
    assert err["output"] == "result" and err["error"] == "WdlTaskFailed"
    assert err["cause"] == "WdlOutputError"


def test_glob_with_absolute_or_uplevel_pattern_is_rejected(tmp_path: Path) -> None:
    task, ctx, _, _ = prepare_and_run(
        tmp_path, 'task t { command <<< true >>> output { Array[File] fs = glob("../*") } }'
    )
    with pytest.raises(WdlTaskFailed, match=r"\.\. uplevels"):
        collect_task(task, ctx)


# ---------------------------------------------------------------- recover_task


def test_recover_spot_host_termination_returns_on_demand_job(tmp_path: Path) -> None:
    task = load_task(
        tmp_path, "task t { command <<< true >>> runtime { preemptible: 3 maxRetries: 1 } }"
    )
    ctx = make_ctx(tmp_path)
    job = prepare_task(task, WDL.Env.Bindings(), ctx).job
    assert job is not None and job["queue"] == QUEUES["spot"]
    assert attempts(ctx, job) == 3
    od = recover_task(
        task, ctx, batch_failure(QUEUES["spot"], "Host EC2 (instance i-0abc) terminated.")
    )
    assert od["queue"] == QUEUES["cpu"]
    assert attempts(ctx, od) == 2  # 1 + maxRetries
    assert {k: v for k, v in od.items() if k not in ("queue", "definition")} == {
        k: v for k, v in job.items() if k not in ("queue", "definition", "on_demand")
    }


def test_the_failure_path_registers_no_job_definition(tmp_path: Path) -> None:
    task = load_task(
        tmp_path, "task t { command <<< true >>> runtime { preemptible: 3 maxRetries: 1 } }"
    )
    ctx = make_ctx(tmp_path)
    prepare_task(task, WDL.Env.Bindings(), ctx)
    registered = dict(ctx.job_definitions.defs)
    od = recover_task(task, ctx, batch_failure(QUEUES["spot"], "Host EC2 (instance i-1) gone."))
    assert od["definition"] in registered
    assert ctx.job_definitions.defs == registered


def test_recover_on_demand_failure_raises_with_exit_code(tmp_path: Path) -> None:
    task, ctx, job, status = prepare_and_run(
        tmp_path, "task t { command <<< echo boom >&2; exit 4 >>> }"
    )
    with pytest.raises(WdlTaskFailed) as ei:
        recover_task(
            task, ctx, batch_failure(job["queue"], "Essential container in task exited", 4)
        )
    assert "exit status 4" in str(ei.value) and "boom" in str(ei.value)
    assert json.loads((ctx.call_dir / "error.json").read_text())["log_stream"] == "log/stream/1"


def test_recover_on_demand_host_termination_is_not_retried_again(tmp_path: Path) -> None:
    task = load_task(tmp_path, "task t { command <<< true >>> }")
    ctx = make_ctx(tmp_path)
    prepare_task(task, WDL.Env.Bindings(), ctx)
    with pytest.raises(WdlTaskFailed, match="Host EC2"):
        recover_task(task, ctx, batch_failure(QUEUES["cpu"], "Host EC2 (instance i-1) terminated."))


def test_recover_spot_command_failure_without_retries_raises(tmp_path: Path) -> None:
    task, ctx, job, _ = prepare_and_run(
        tmp_path, "task t { command <<< exit 9 >>> runtime { preemptible: 2 } }"
    )
    assert job["queue"] == QUEUES["spot"]
    with pytest.raises(WdlTaskFailed, match="exit status 9"):
        recover_task(
            task, ctx, batch_failure(QUEUES["spot"], "Essential container in task exited", 9)
        )


def test_recover_timeout_reports_the_status_reason(tmp_path: Path) -> None:
    task = load_task(tmp_path, "task t { command <<< sleep 100 >>> }")
    ctx = make_ctx(tmp_path)
    prepare_task(task, WDL.Env.Bindings(), ctx)
    with pytest.raises(WdlTaskFailed, match="Job attempt duration exceeded timeout"):
        recover_task(
            task, ctx, batch_failure(QUEUES["cpu"], "Job attempt duration exceeded timeout")
        )


def test_recover_spot_command_failure_with_retries_left_goes_on_demand(tmp_path: Path) -> None:
    task, ctx, job, _ = prepare_and_run(
        tmp_path, "task t { command <<< exit 9 >>> runtime { preemptible: 2 maxRetries: 2 } }"
    )
    od = recover_task(
        task, ctx, batch_failure(QUEUES["spot"], "Essential container in task exited", 9)
    )
    assert od["queue"] == QUEUES["cpu"]
    assert attempts(ctx, od) == 2  # the spot attempt used one of 1 + maxRetries
    assert not (ctx.call_dir / "rc").exists()
    # the on-demand job failing too is final
    with pytest.raises(WdlTaskFailed, match="exit status 9"):
        recover_task(
            task, ctx, batch_failure(QUEUES["cpu"], "Essential container in task exited", 9)
        )
