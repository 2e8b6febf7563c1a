"""LocalBatch: AWS Batch semantics for batch:submitJob.sync, run as host subprocesses."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from wdl2sfn.backends.local import FaultPlan, LocalBatch
from wdl2sfn.backends.local.batch import (
    REASON_ABORTED,
    REASON_EXITED,
    REASON_SHUTDOWN,
    REASON_TIMEOUT,
    RUNNER_JOB_DEFINITION,
    batch_pattern_matches,
    evaluate_on_exit,
)

from .local_batch_helpers import (
    error_and_cause,
    failed_job,
    job_params,
    pid_alive,
    submit_in_background,
    wait_for,
)

HOST_TERMINATED = "Host EC2 (instance i-0abc) terminated."


# ------------------------------------------------------------------ result shape, exit codes


def test_succeeded_job_returns_step_functions_pascal_case_job_description(make_batch):
    batch = make_batch()
    job = batch.submit_job_sync(job_params(["true"], name="hello"), threading.Event())
    assert job["Status"] == "SUCCEEDED"
    assert job["StatusReason"] == REASON_EXITED
    assert job["JobName"] == "hello"
    assert job["JobArn"].endswith(f":job/{job['JobId']}")
    assert job["JobQueue"] == "arn:aws:batch:local:000000000000:job-queue/wdl2sfn-cpu"
    assert job["JobDefinition"].endswith(":job-definition/wdl2sfn-runner:1")
    assert job["Container"]["ExitCode"] == 0
    assert job["Container"]["Command"] == ["true"]
    assert job["Container"]["Image"] == "wdl2sfn-runner"
    assert {"Type": "VCPU", "Value": "1"} in job["Container"]["ResourceRequirements"]
    assert job["RetryStrategy"] == {"Attempts": 1}
    [attempt] = job["Attempts"]
    assert attempt["Container"]["ExitCode"] == 0
    assert attempt["StartedAt"] <= attempt["StoppedAt"]
    assert job["CreatedAt"] <= job["StartedAt"] <= job["StoppedAt"]
    assert not any(k[0].islower() for k in job)


def test_log_stream_name_is_the_log_file_holding_stdout_and_stderr(make_batch, tmp_path):
    batch = make_batch(log_dir=tmp_path / "joblogs")
    job = batch.submit_job_sync(
        job_params(["sh", "-c", "echo to-stdout; echo to-stderr >&2"]), threading.Event()
    )
    log_path = Path(job["Container"]["LogStreamName"])
    assert log_path == tmp_path / "joblogs" / f"{job['JobId']}.log"
    assert job["Attempts"][0]["Container"]["LogStreamName"] == str(log_path)
    text = log_path.read_text()
    assert "to-stdout" in text and "to-stderr" in text


def test_nonzero_exit_raises_task_failed_with_job_description_cause(make_batch):
    batch = make_batch()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(job_params(["sh", "-c", "exit 3"], name="bad"), threading.Event())
    job = failed_job(info.value)
    assert job["Status"] == "FAILED"
    assert job["JobName"] == "bad"
    assert job["StatusReason"] == REASON_EXITED
    assert job["Container"]["ExitCode"] == 3
    assert [a["Container"]["ExitCode"] for a in job["Attempts"]] == [3]


def test_missing_executable_fails_to_start_without_exit_code(make_batch):
    batch = make_batch()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(job_params(["/nonexistent/tool"]), threading.Event())
    job = failed_job(info.value)
    assert job["StatusReason"] == "Task failed to start"
    assert job["Container"]["Reason"].startswith("CannotStartContainerError")
    assert "ExitCode" not in job["Attempts"][0]["Container"]


def test_exit_of_main_process_kills_background_children(make_batch, tmp_path):
    batch = make_batch()
    pidfile = tmp_path / "child.pid"
    batch.submit_job_sync(
        job_params(["sh", "-c", f"sleep 30 & echo $! > {pidfile}"]), threading.Event()
    )
    child = int(pidfile.read_text())
    wait_for(lambda: not pid_alive(child), timeout=5)


# ------------------------------------------------------------------ admission


def test_two_one_cpu_jobs_on_a_one_cpu_machine_run_one_after_the_other(make_batch):
    batch = make_batch(cpus=1)
    cmd = ["sleep", "0.3"]
    a = submit_in_background(batch, job_params(cmd, name="a"))
    b = submit_in_background(batch, job_params(cmd, name="b"))
    a.join()
    b.join()
    assert a.error is None and b.error is None
    first, second = sorted(
        (a.result["Attempts"][0], b.result["Attempts"][0]), key=lambda x: x["StartedAt"]
    )
    assert first["StoppedAt"] <= second["StartedAt"]


def test_two_one_cpu_jobs_on_a_two_cpu_machine_run_together(make_batch):
    batch = make_batch(cpus=2)
    cmd = ["sleep", "0.5"]
    a = submit_in_background(batch, job_params(cmd, name="a"))
    b = submit_in_background(batch, job_params(cmd, name="b"))
    a.join()
    b.join()
    ra, rb = a.result["Attempts"][0], b.result["Attempts"][0]
    assert ra["StartedAt"] < rb["StoppedAt"] and rb["StartedAt"] < ra["StoppedAt"]


def test_job_larger_than_the_machine_fails_at_once_naming_request_and_capacity(make_batch):
    batch = make_batch(cpus=2, memory_mib=4096)
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(job_params(["true"], vcpu="4", memory="8192"), threading.Event())
    assert time.monotonic() - started < 2
    job = failed_job(info.value)
    assert job["Attempts"] == []
    reason = job["StatusReason"]
    assert "4 VCPU, 8192 MiB MEMORY" in reason
    assert "2 VCPU, 4096 MiB MEMORY" in reason


def test_clamp_to_machine_runs_an_oversized_job_with_what_the_machine_has(make_batch):
    batch = make_batch(cpus=2, memory_mib=4096, clamp_to_machine=True)
    job = batch.submit_job_sync(job_params(["true"], vcpu="8", memory="9000"), threading.Event())
    assert job["Status"] == "SUCCEEDED"
    assert "2 VCPU, 4096 MiB MEMORY" in Path(job["Container"]["LogStreamName"]).read_text()


def test_abort_while_waiting_for_resources_returns_promptly(make_batch):
    batch = make_batch(cpus=1)
    blocker = submit_in_background(batch, job_params(["sleep", "30"], name="blocker"))
    wait_for(lambda: batch.list_jobs(jobStatus="RUNNING")["jobSummaryList"] != [])
    waiting = submit_in_background(batch, job_params(["true"], name="waiting"))
    time.sleep(0.3)
    waiting.abort.set()
    waiting.join(timeout=3)
    job = failed_job(waiting.error)
    assert job["StatusReason"] == REASON_ABORTED
    assert job["Attempts"] == []
    blocker.abort.set()
    blocker.join()


# ------------------------------------------------------------------ retries


def test_retries_until_attempts_are_exhausted(make_batch):
    batch = make_batch()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(
            job_params(["sh", "-c", "exit 1"], retry={"Attempts": 3}), threading.Event()
        )
    job = failed_job(info.value)
    assert len(job["Attempts"]) == 3
    assert job["RetryStrategy"] == {"Attempts": 3}


def test_retry_sees_aws_batch_job_attempt_and_succeeds_on_attempt_2(make_batch):
    batch = make_batch()
    job = batch.submit_job_sync(
        job_params(["sh", "-c", 'test "$AWS_BATCH_JOB_ATTEMPT" = 2'], retry={"Attempts": 3}),
        threading.Event(),
    )
    assert job["Status"] == "SUCCEEDED"
    assert [a["Container"]["ExitCode"] for a in job["Attempts"]] == [1, 0]


SPOT_RULES = [
    {"OnStatusReason": "Host EC2*", "Action": "RETRY"},
    {"OnReason": "*", "Action": "EXIT"},
]


def test_evaluate_on_exit_retries_on_status_reason_glob(make_batch):
    faults = FaultPlan([{"job": "spot-*", "attempts": [1], "reason": HOST_TERMINATED}])
    batch = make_batch(faults=faults)
    job = batch.submit_job_sync(
        job_params(["true"], name="spot-job", retry={"Attempts": 3, "EvaluateOnExit": SPOT_RULES}),
        threading.Event(),
    )
    assert job["Status"] == "SUCCEEDED"
    assert [a["StatusReason"] for a in job["Attempts"]] == [HOST_TERMINATED, REASON_EXITED]
    assert job["RetryStrategy"]["EvaluateOnExit"][0]["OnStatusReason"] == "Host EC2*"


def test_evaluate_on_exit_catch_all_exit_stops_a_failing_command(make_batch):
    batch = make_batch()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(
            job_params(["sh", "-c", "exit 2"], retry={"Attempts": 3, "EvaluateOnExit": SPOT_RULES}),
            threading.Event(),
        )
    assert len(failed_job(info.value)["Attempts"]) == 1


def test_evaluate_on_exit_exit_action_on_exit_code(make_batch):
    rules = [{"OnExitCode": "3", "Action": "exit"}]  # actions are case-insensitive
    batch = make_batch()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(
            job_params(["sh", "-c", "exit 3"], retry={"Attempts": 3, "EvaluateOnExit": rules}),
            threading.Event(),
        )
    assert len(failed_job(info.value)["Attempts"]) == 1


def test_evaluate_on_exit_with_no_matching_entry_retries(make_batch):
    rules = [{"OnExitCode": "3", "Action": "EXIT"}]
    batch = make_batch()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(
            job_params(["sh", "-c", "exit 4"], retry={"Attempts": 2, "EvaluateOnExit": rules}),
            threading.Event(),
        )
    assert [a["Container"]["ExitCode"] for a in failed_job(info.value)["Attempts"]] == [4, 4]


def test_batch_patterns_are_exact_or_trailing_asterisk_prefix():
    assert batch_pattern_matches("Host EC2*", HOST_TERMINATED)
    assert not batch_pattern_matches("Host EC2", HOST_TERMINATED)
    assert batch_pattern_matches("13*", "137")
    assert not batch_pattern_matches("13", "137")
    assert batch_pattern_matches("*", None)
    assert not batch_pattern_matches("1*", None)


def test_evaluate_on_exit_first_match_wins_and_needs_every_condition():
    rules = [
        {"onExitCode": "1", "onStatusReason": "Other*", "action": "EXIT"},
        {"onExitCode": "1", "action": "RETRY"},
        {"onExitCode": "*", "action": "EXIT"},
    ]
    kw = {"status_reason": REASON_EXITED, "reason": None}
    assert evaluate_on_exit(rules, exit_code=1, **kw) == "RETRY"
    assert evaluate_on_exit(rules, exit_code=2, **kw) == "EXIT"
    assert evaluate_on_exit([], exit_code=2, **kw) == "RETRY"


# ------------------------------------------------------------------ faults, timeout, abort


def test_fault_injection_host_termination_then_success_on_attempt_2(make_batch, tmp_path):
    marker = tmp_path / "ran"
    faults = FaultPlan([{"job": "call-*", "attempts": [1], "reason": HOST_TERMINATED}])
    batch = make_batch(faults=faults)
    job = batch.submit_job_sync(
        job_params(["sh", "-c", f"echo x >> {marker}"], name="call-a", retry={"Attempts": 2}),
        threading.Event(),
    )
    assert job["Status"] == "SUCCEEDED"
    first, second = job["Attempts"]
    assert first["StatusReason"] == HOST_TERMINATED
    assert "ExitCode" not in first["Container"]
    assert second["Container"]["ExitCode"] == 0
    assert marker.read_text() == "x\n"  # the faulted attempt never ran the command


def test_fault_injection_can_kill_a_running_attempt(make_batch):
    faults = FaultPlan([{"job": "*", "after_seconds": 0.2, "reason": HOST_TERMINATED}])
    batch = make_batch(faults=faults)
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(job_params(["sleep", "30"]), threading.Event())
    job = failed_job(info.value)
    assert job["StatusReason"] == HOST_TERMINATED
    assert "ExitCode" not in job["Container"]


def test_fault_plan_is_read_from_environment(monkeypatch):
    rules = [{"job": "call-*", "attempts": [1, 2], "reason": HOST_TERMINATED}]
    monkeypatch.setenv("WDL2SFN_LOCAL_BATCH_FAULTS", json.dumps(rules))
    plan = FaultPlan.from_env()
    assert plan is not None
    rule = plan.match("call-x", 2)
    assert rule is not None and rule.reason == HOST_TERMINATED
    assert plan.match("call-x", 3) is None
    assert plan.match("other", 1) is None
    monkeypatch.delenv("WDL2SFN_LOCAL_BATCH_FAULTS")
    assert FaultPlan.from_env() is None


def test_timeout_kills_the_attempt_and_is_not_retried(make_batch):
    batch = make_batch()
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(
            job_params(["sleep", "30"], timeout=0.5, retry={"Attempts": 3}), threading.Event()
        )
    assert time.monotonic() - started < 5
    job = failed_job(info.value)
    assert job["StatusReason"] == REASON_TIMEOUT
    assert len(job["Attempts"]) == 1
    assert job["Timeout"] == {"AttemptDurationSeconds": 0.5}


def test_abort_kills_the_whole_process_group_and_returns_promptly(make_batch, tmp_path):
    batch = make_batch()
    parent_pid, child_pid = tmp_path / "parent.pid", tmp_path / "child.pid"
    script = f"echo $$ > {parent_pid}; sleep 30 & echo $! > {child_pid}; wait"
    bg = submit_in_background(batch, job_params(["sh", "-c", script], retry={"Attempts": 3}))
    wait_for(lambda: child_pid.exists() and child_pid.read_text().strip() != "")
    parent, child = int(parent_pid.read_text()), int(child_pid.read_text())
    assert pid_alive(parent) and pid_alive(child)
    t0 = time.monotonic()
    bg.abort.set()
    bg.join(timeout=5)
    assert time.monotonic() - t0 < 3
    job = failed_job(bg.error)
    assert job["StatusReason"] == REASON_ABORTED
    assert len(job["Attempts"]) == 1  # terminated jobs are not retried
    wait_for(lambda: not pid_alive(parent) and not pid_alive(child), timeout=3)


def test_abort_escalates_to_sigkill_when_sigterm_is_ignored(make_batch, tmp_path):
    batch = make_batch(kill_grace_seconds=0.3)
    ready = tmp_path / "ready"
    script = f"trap '' TERM; touch {ready}; while true; do sleep 0.1; done"
    bg = submit_in_background(batch, job_params(["sh", "-c", script]))
    wait_for(ready.exists)
    bg.abort.set()
    bg.join(timeout=5)
    assert failed_job(bg.error)["StatusReason"] == REASON_ABORTED


def test_terminate_job_fails_it_with_the_given_reason(make_batch):
    batch = make_batch()
    bg = submit_in_background(batch, job_params(["sleep", "30"], retry={"Attempts": 2}))
    wait_for(lambda: batch.list_jobs(jobStatus="RUNNING")["jobSummaryList"] != [])
    [running] = batch.list_jobs(jobStatus="RUNNING")["jobSummaryList"]
    batch.terminate_job(jobId=running["jobId"], reason="stopped by the user")
    bg.join(timeout=5)
    job = failed_job(bg.error)
    assert job["StatusReason"] == "stopped by the user"
    assert len(job["Attempts"]) == 1


def test_shutdown_kills_running_jobs(make_batch):
    batch = make_batch()
    bg = submit_in_background(batch, job_params(["sleep", "30"]))
    wait_for(lambda: batch.list_jobs(jobStatus="RUNNING")["jobSummaryList"] != [])
    batch.shutdown()
    bg.join(timeout=5)
    assert failed_job(bg.error)["StatusReason"] == REASON_SHUTDOWN


# ------------------------------------------------------------------ environment, GPUs, output


def test_environment_overrides_and_batch_variables_reach_the_process(make_batch, tmp_path):
    out = tmp_path / "env.txt"
    batch = make_batch()
    script = f'echo "$FOO|$AWS_BATCH_JOB_ID|$AWS_BATCH_JOB_ATTEMPT|$AWS_BATCH_JQ_NAME" > {out}'
    job = batch.submit_job_sync(
        job_params(["sh", "-c", script], env={"FOO": "bar baz"}), threading.Event()
    )
    assert out.read_text().strip() == f"bar baz|{job['JobId']}|1|wdl2sfn-cpu"
    assert {"Name": "FOO", "Value": "bar baz"} in job["Container"]["Environment"]


def test_cuda_visible_devices_lists_the_assigned_gpus(make_batch, tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    out = tmp_path / "cuda.txt"
    batch = make_batch(gpus=3)
    batch.submit_job_sync(
        job_params(["sh", "-c", f'echo "$CUDA_VISIBLE_DEVICES" > {out}'], gpu="2"),
        threading.Event(),
    )
    assert out.read_text().strip() == "0,1"


def test_gpu_job_on_a_machine_without_gpus_runs_with_a_warning(make_batch, caplog):
    batch = make_batch(gpus=0)
    with caplog.at_level(logging.WARNING, logger="wdl2sfn.backends.local.batch"):
        job = batch.submit_job_sync(job_params(["echo", "ran"], gpu="1"), threading.Event())
    assert job["Status"] == "SUCCEEDED"
    assert any("GPU" in r.getMessage() for r in caplog.records)
    text = Path(job["Container"]["LogStreamName"]).read_text()
    assert "WARNING" in text and "GPU" in text and "ran" in text


def test_gpu_job_asking_more_gpus_than_the_machine_has_fails_at_once(make_batch):
    batch = make_batch(gpus=1)
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(job_params(["true"], gpu="2"), threading.Event())
    assert "2 GPU" in failed_job(info.value)["StatusReason"]


def test_on_output_streams_stderr_lines_with_the_job_name(make_batch):
    lines: list[tuple[str, str]] = []
    batch = make_batch(on_output=lambda name, line: lines.append((name, line)))
    job = batch.submit_job_sync(
        job_params(["sh", "-c", "echo out; echo err1 >&2; echo err2 >&2"], name="streamer"),
        threading.Event(),
    )
    assert lines == [("streamer", "err1"), ("streamer", "err2")]
    text = Path(job["Container"]["LogStreamName"]).read_text()
    assert "out" in text and "err2" in text


# ------------------------------------------------------------------ job definitions, queues


def test_job_definition_register_describe_round_trip(make_batch):
    batch = make_batch()
    props = {"image": "ubuntu:22.04", "command": ["echo", "v1"]}
    r1 = batch.register_job_definition(
        jobDefinitionName="wdl2sfn-abc123", type="container", containerProperties=props
    )
    r2 = batch.register_job_definition(
        jobDefinitionName="wdl2sfn-abc123",
        type="container",
        containerProperties={**props, "command": ["echo", "v2"]},
    )
    assert (r1["revision"], r2["revision"]) == (1, 2)
    assert r2["jobDefinitionArn"] == (
        "arn:aws:batch:local:000000000000:job-definition/wdl2sfn-abc123:2"
    )
    listed = batch.describe_job_definitions(jobDefinitionName="wdl2sfn-abc123", status="ACTIVE")
    assert [d["revision"] for d in listed["jobDefinitions"]] == [1, 2]
    [one] = batch.describe_job_definitions(jobDefinitions=[r1["jobDefinitionArn"]])[
        "jobDefinitions"
    ]
    assert one["containerProperties"] == props and one["status"] == "ACTIVE"
    assert batch.describe_job_definitions(jobDefinitionName="nope")["jobDefinitions"] == []


def test_submit_by_name_uses_the_latest_revision_and_its_defaults(make_batch, tmp_path):
    out = tmp_path / "out.txt"
    batch = make_batch()
    for word in ("old", "new"):
        batch.register_job_definition(
            jobDefinitionName="tool",
            type="container",
            containerProperties={
                "image": f"tool:{word}",
                "command": ["sh", "-c", f"echo {word} > {out}"],
            },
        )
    params = job_params([], definition="tool")
    del params["ContainerOverrides"]["Command"]
    job = batch.submit_job_sync(params, threading.Event())
    assert out.read_text().strip() == "new"
    assert job["JobDefinition"].endswith("job-definition/tool:2")
    assert job["Container"]["Image"] == "tool:new"


def test_unknown_queue_is_a_batch_client_error_naming_it(make_batch):
    batch = make_batch()
    queue = "arn:aws:batch:us-east-1:123456789012:job-queue/nowhere"
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(job_params(["true"], queue=queue), threading.Event())
    error, cause = error_and_cause(info.value)
    assert error == "Batch.ClientException"
    assert "nowhere" in cause and "wdl2sfn-cpu" in cause


def test_unknown_job_definition_is_a_batch_client_error(make_batch):
    batch = make_batch()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(job_params(["true"], definition="missing:3"), threading.Event())
    error, cause = error_and_cause(info.value)
    assert error == "Batch.ClientException" and "missing:3" in cause


@pytest.mark.parametrize("attempts", [0, 11])
def test_retry_attempts_outside_1_to_10_are_a_client_error(make_batch, attempts):
    batch = make_batch()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(job_params(["true"], retry={"Attempts": attempts}), threading.Event())
    assert error_and_cause(info.value)[0] == "Batch.ClientException"


def test_invalid_job_name_is_a_client_error(make_batch):
    batch = make_batch()
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(job_params(["true"], name="call-sub/call-a"), threading.Event())
    assert error_and_cause(info.value)[0] == "Batch.ClientException"


def test_resource_values_must_be_strings(make_batch):
    batch = make_batch()
    params = job_params(["true"])
    params["ContainerOverrides"]["ResourceRequirements"] = [{"Type": "VCPU", "Value": 2}]
    with pytest.raises(Exception) as info:
        batch.submit_job_sync(params, threading.Event())
    assert error_and_cause(info.value)[0] == "Batch.ClientException"


# ------------------------------------------------------------------ container runtimes


def _fake_runtime(bin_dir: Path, name: str, record: Path) -> None:
    """A stand-in `docker`/`podman` that records its argv and environment, then exits 0."""
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / name
    exe.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\necho "FOO=$FOO" >> {record}\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)


def test_docker_runtime_runs_the_job_definition_image_with_mounts_and_env(
    make_batch, tmp_path, monkeypatch
):
    record = tmp_path / "argv.txt"
    _fake_runtime(tmp_path / "bin", "docker", record)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    store = tmp_path / "store"
    store.mkdir()
    batch = make_batch(runtime="docker", mounts=[store])
    batch.register_job_definition(
        jobDefinitionName="img", type="container", containerProperties={"image": "ubuntu:22.04"}
    )
    batch.submit_job_sync(
        job_params(
            ["bash", "-c", "echo hi"], definition="img", env={"FOO": "secret"}, memory="512"
        ),
        threading.Event(),
    )
    lines = record.read_text().splitlines()
    assert lines[:3] == ["run", "--rm", "--name"]
    assert lines[lines.index("-v") + 1] == f"{store}:{store}"
    assert lines[lines.index("--memory") + 1] == "512m"
    assert "FOO" in lines and "secret" not in lines[:-1]  # values pass via environment only
    image_at = lines.index("ubuntu:22.04")
    assert lines[image_at + 1 : image_at + 4] == ["bash", "-c", "echo hi"]
    assert lines[-1] == "FOO=secret"


def test_docker_runtime_runs_runner_jobs_on_the_host(make_batch, tmp_path, monkeypatch):
    """FSx mode's run-time steps are runner jobs whose image ("wdl2sfn-runner") exists only
    on AWS: with --container docker they still run here, on the host, not through docker."""
    record = tmp_path / "argv.txt"
    _fake_runtime(tmp_path / "bin", "docker", record)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    batch = make_batch(runtime="docker")
    marker = tmp_path / "ran-on-host"
    result = batch.submit_job_sync(
        job_params(["touch", str(marker)], definition=RUNNER_JOB_DEFINITION), threading.Event()
    )
    assert result["Status"] == "SUCCEEDED"
    assert marker.exists() and not record.exists()


def test_container_runtime_without_its_binary_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="podman"):
        LocalBatch(runtime="podman", log_dir=tmp_path)
