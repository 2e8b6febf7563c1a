"""Exact joins in FSx mode: Lambda cannot reach FSx, so a join's steps are runner Batch jobs.

The wait is `aws-sdk:batch:submitJob.waitForTaskToken` (AWS SDK integrations take the callback
pattern; the optimized `batch:submitJob` does not): a runner job handed `$$.Task.Token` on its
command line registers it in the store; the state ends when the token is answered. The release
is an ordinary runner step. Runs below use the local Batch, whose runner jobs are subprocesses
that answer through `<run>/_callbacks/` (relayed to the executor).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wdl2sfn.backends.local.callbacks import AnswerRelay
from wdl2sfn.compiler import compile_workflow, events
from wdl2sfn.compiler.stack_machines import call_machine
from wdl2sfn.statemachine.callbacks import InvalidToken, TaskTokens

from ..integration.helpers import wdl2sfn
from .test_compile import FIXTURES, all_states, statelint_errors
from .test_exact_joins import FANNED, SCATTERED, TIMED, _write

WAIT_SDK = "arn:aws:states:::aws-sdk:batch:submitJob.waitForTaskToken"


def _fsx_states(tmp_path: Path) -> dict[str, dict]:
    definition = compile_workflow(str(FIXTURES / "n_shape.wdl"), filesystem="fsx").definition
    return dict(all_states(definition["States"]))


def test_fsx_wait_is_a_runner_job_submitted_with_the_task_token_on_its_command_line(
    tmp_path: Path,
):
    wait = _fsx_states(tmp_path)["call c: wait"]
    assert wait["Resource"] == WAIT_SDK
    params = wait["Parameters"]
    assert params["JobDefinition"] == "${RunnerJobDefinitionArn}"
    assert params["JobQueue"] == "${RunnerQueueArn}"
    command = params["ContainerOverrides"]["Command.$"]
    assert command.startswith("States.Array('python3', '-m', 'wdl2sfn.task_runner', 'eval'")
    assert "'--field', 'token', States.JsonToString($$.Task.Token)" in command
    assert "'--field', 'join', '\"wait\"'" in command


def _fanned_states(tmp_path: Path) -> dict[str, dict]:
    wdl = _write(tmp_path, FANNED, "fanned")
    return dict(all_states(compile_workflow(wdl, filesystem="fsx").definition["States"]))


def test_fsx_call_hands_its_waiters_to_the_call_machine_whose_collect_job_releases_them(
    tmp_path: Path,
):
    states = _fsx_states(tmp_path)
    assert "call b: release" not in states
    assert states["call b"]["Parameters"]["Input"]["waiters"] == ["call-c"]
    collect = call_machine("fsx")["States"]["call: collect"]
    command = collect["Parameters"]["ContainerOverrides"]["Command.$"]
    assert "'--event', States.JsonToString($.prep.job.step)" in command  # waiters included


def test_fsx_release_is_an_ordinary_runner_step(tmp_path: Path):
    release = _fanned_states(tmp_path)["scatter i in range(2): release"]
    assert release["Resource"] == "arn:aws:states:::batch:submitJob.sync"
    assert (
        "'--field', 'join', '\"release\"'"
        in release["Parameters"]["ContainerOverrides"]["Command.$"]
    )


def test_statelint_accepts_the_fsx_join_states(tmp_path: Path):
    definition = compile_workflow(str(FIXTURES / "n_shape.wdl"), filesystem="fsx").definition
    assert statelint_errors(definition, tmp_path) == []


def test_fsx_mode_adds_no_waits_and_prices_joins_as_runner_jobs():
    report = compile_workflow(str(FIXTURES / "n_shape.wdl"), filesystem="fsx").report
    assert report["added_waits"] == []
    joins = report["joins"]
    assert [(w["unit"], w["waits_for"]) for w in joins["waits"]] == [("call c", ["call b"])]
    # the wait; b's release is its collect's (no step of its own)
    assert (joins["transitions"], joins["runner_jobs"], joins["lambda_calls"]) == (1, 1, 0)
    assert [(r["unit"], r["transitions"]) for r in joins["releases"]] == [("call b", 0)]
    assert joins["steps_run_as"] == "runner Batch jobs"
    efs = compile_workflow(str(FIXTURES / "n_shape.wdl")).report["joins"]
    assert joins["usd"] > efs["usd"]  # a 20 s runner job costs more than a Lambda call


def test_fsx_join_states_count_as_callback_and_sync_tasks_in_the_event_model(tmp_path: Path):
    states = _fsx_states(tmp_path)
    assert events.state_events(states["call c: wait"]) == events.SYNC_TASK == 6
    release = _fanned_states(tmp_path)["scatter i in range(2): release"]
    assert events.state_events(release) == 6


def test_fsx_run_starts_each_call_when_its_own_dependencies_are_done(tmp_path: Path):
    wdl = _write(tmp_path, TIMED, "timed")
    # a sleeps 20 s (no CPU): d's three runner steps fit in it on a loaded machine; with the
    # default 4 s, d finished 1.4 s after a at load average 12 (a CI run on 2 cores)
    out = wdl2sfn("run", wdl, "slow=20", "--filesystem", "fsx", "--dir", str(tmp_path / "runs"))
    assert out.code == 0, out.stderr
    o = out.json["outputs"]
    assert (o["timed.c_y"], o["timed.d_y"]) == (6, 4)
    assert o["timed.d_done"] < o["timed.a_done"]  # d needs only b: it did not wait for slow a
    assert o["timed.c_start"] >= o["timed.a_done"]  # c needs a: it did wait


def test_fsx_joins_inside_a_scatter_are_per_shard(tmp_path: Path):
    wdl = _write(tmp_path, SCATTERED, "scattered")
    out = wdl2sfn("run", wdl, "--filesystem", "fsx", "--dir", str(tmp_path / "runs"))
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {"scattered.c_y": [3, 14, 25], "scattered.d_y": [2, 12, 22]}
    assert len(list(out.run_dir.glob("_joins/*/done/call-b"))) == 3  # one marker per shard


def test_fsx_wait_writes_the_events_the_model_counts(tmp_path: Path):
    wdl = _write(tmp_path, TIMED, "timed")
    out = wdl2sfn("run", wdl, "slow=0", "--filesystem", "fsx", "--dir", str(tmp_path / "runs"))
    assert out.code == 0, out.stderr
    history = [json.loads(line) for line in (out.run_dir / "history.jsonl").open()]
    entered = next(e["id"] for e in history if _state_of(e) == ("TaskStateEntered", "call c: wait"))
    exited = next(e["id"] for e in history if _state_of(e) == ("TaskStateExited", "call c: wait"))
    own = [e for e in history[entered - 1 : exited] if _is_wait_event(e, entered, exited)]
    assert len(own) == events.SYNC_TASK


def _state_of(event: dict) -> tuple[str, str]:
    details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
    return event["type"], details.get("name", "")


def _is_wait_event(event: dict, entered: int, exited: int) -> bool:
    if event["id"] in (entered, exited):
        return True
    details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
    return details.get("resource") == "submitJob.waitForTaskToken"


def test_a_wait_job_whose_step_fails_answers_its_token_with_the_error(tmp_path: Path):
    store = tmp_path / "store"
    (store / "r1").mkdir(parents=True)
    (store / "r1" / "_joins").write_text("not a folder")  # the wait cannot write its marker
    fields = {"run": "r1", "node": "call-c", "shard": [], "join": "wait",
              "after": ["call-b"], "token": "tok-1"}  # fmt: skip
    argv = [sys.executable, "-m", "wdl2sfn.task_runner", "eval"]
    for key, value in fields.items():
        argv += ["--field", key, json.dumps(value)]
    env = {"PATH": "/usr/bin:/bin", "WDL2SFN_STORE": str(store), "WDL2SFN_CALLBACKS": "store"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    answer = json.loads((store / "r1" / "_callbacks" / "tok-1.json").read_text())
    assert answer["token"] == "tok-1" and answer["error"] in done.stderr


def test_the_local_relay_hands_a_runner_jobs_answer_to_the_waiting_token(tmp_path: Path):
    tokens = TaskTokens()
    token = tokens.issue()
    folder = tmp_path / "_callbacks"
    folder.mkdir()
    (folder / f"{token}.json").write_text(json.dumps({"token": token, "output": '{"ok": 1}'}))
    assert AnswerRelay(tmp_path, tokens).relay_once() == 1
    assert not list(folder.iterdir())
    with pytest.raises(InvalidToken):  # answered already: the relay delivered it
        tokens.send_success(token, "{}")


def test_fsx_wait_is_bounded_by_a_timeout_longer_than_any_job_it_may_wait_for(tmp_path: Path):
    """Step Functions developer guide, "Using timeouts to avoid stuck Step Functions workflow
    executions" (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-stuck-execution.html):
    "If something goes wrong and the TimeoutSeconds field isn't specified for an Activity or Task
    state, an execution is stuck waiting for a response that will never come." The wait holds
    until the units it waits for are done: three Batch attempts of a task's default timeout."""
    wait = _fsx_states(tmp_path)["call c: wait"]
    assert wait["TimeoutSeconds"] == 3 * 7 * 24 * 3600


def test_fsx_wait_job_carries_its_token_as_a_batch_parameter_the_failed_event_shows(
    tmp_path: Path,
):
    """AWS Batch user guide, "Job state change events"
    (https://docs.aws.amazon.com/batch/latest/userguide/batch_job_events.html): "The detail
    section resembles the JobDetail object that's returned from a DescribeJobs API operation" --
    its example holds `"parameters": {}`: the stack's FAILED rule reads the token there."""
    wait = _fsx_states(tmp_path)["call c: wait"]
    assert wait["Parameters"]["Parameters"] == {"wdl2sfnToken.$": "$$.Task.Token"}
