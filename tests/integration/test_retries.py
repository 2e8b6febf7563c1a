"""maxRetries and spot interruptions, through the CLI, with the local Batch's fault injection."""

from __future__ import annotations

import json

from ..conftest import ROOT
from .helpers import all_histories, wdl2sfn

RETRIES = str(ROOT / "tests" / "fixtures" / "retries.wdl")
SPOT_CHAIN = str(ROOT / "tests" / "fixtures" / "spot_chain.wdl")
HOST_GONE = "Host EC2 (instance i-0123456789abcdef0) terminated."


def batch_jobs(run_dir):
    """(queue name, final status) of every Batch job the run submitted, in history order."""
    jobs = []
    for path in all_histories(run_dir):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if (
                event["type"] == "TaskScheduled"
                and event["taskScheduledEventDetails"]["resourceType"] == "batch"
            ):
                params = json.loads(event["taskScheduledEventDetails"]["parameters"])
                jobs.append((params["JobName"], params["JobQueue"].rsplit("/", 1)[-1]))
    return jobs


def states_entered(run_dir):
    """Names of the states entered, in history order (the top execution's history)."""
    names = []
    for path in all_histories(run_dir):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event["type"].endswith("StateEntered"):
                names.append(event["stateEnteredEventDetails"]["name"])
    return names


def faults(*rules):
    return {"WDL2SFN_LOCAL_BATCH_FAULTS": json.dumps(list(rules))}


def test_max_retries_retries_a_failed_command(tmp_path):
    out = wdl2sfn("run", RETRIES, "--dir", str(tmp_path))
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["retries.tries"] == 2


def test_preemptible_task_runs_on_the_spot_queue(tmp_path):
    out = wdl2sfn("run", RETRIES, "--dir", str(tmp_path))
    assert ("retries-spot_task", "wdl2sfn-spot") in batch_jobs(out.run_dir)


def test_one_spot_interruption_is_retried_on_spot(tmp_path):
    env = faults(
        {"job": "retries-spot_task", "queue": "wdl2sfn-spot", "attempts": [1], "reason": HOST_GONE}
    )
    out = wdl2sfn("run", RETRIES, "--dir", str(tmp_path), env=env)
    assert out.code == 0, out.stderr
    queues = [q for name, q in batch_jobs(out.run_dir) if name == "retries-spot_task"]
    assert queues == ["wdl2sfn-spot"]  # Batch's RetryStrategy retried it within the same job


def test_spot_interruptions_past_preemptible_fall_back_to_on_demand(tmp_path):
    env = faults({"job": "retries-spot_task", "queue": "wdl2sfn-spot", "reason": HOST_GONE})
    out = wdl2sfn("run", RETRIES, "--dir", str(tmp_path), env=env)
    assert out.code == 0, out.stderr
    queues = [q for name, q in batch_jobs(out.run_dir) if name == "retries-spot_task"]
    assert queues == ["wdl2sfn-spot", "wdl2sfn-cpu"]
    assert out.json["outputs"]["retries.where"] == "ran"


def test_host_termination_on_demand_beyond_retries_fails_the_run(tmp_path):
    env = faults({"job": "retries-flaky", "reason": HOST_GONE})
    out = wdl2sfn("run", RETRIES, "--dir", str(tmp_path), env=env)
    assert out.code == 1
    assert "flaky" in out.last_line


def test_the_shared_failure_step_sends_the_on_demand_job_back_to_its_own_call(tmp_path):
    env = faults({"job": "spot_chain-second", "queue": "wdl2sfn-spot", "reason": HOST_GONE})
    out = wdl2sfn("run", SPOT_CHAIN, "--dir", str(tmp_path), env=env)
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["spot_chain.y"] == 3
    entered = states_entered(out.run_dir)
    assert entered.count("call first: run") == 1
    assert entered.count("call second: run") == 2
    after_failure = entered[entered.index("job failed") :]
    assert after_failure[:3] == ["job failed", "job failed: retry", "call second: run"]


def test_in_fsx_mode_the_shared_failure_step_sends_the_job_back_to_its_own_call(tmp_path):
    env = faults({"job": "spot_chain-first", "queue": "wdl2sfn-spot", "reason": HOST_GONE})
    out = wdl2sfn("run", SPOT_CHAIN, "--filesystem", "fsx", "--dir", str(tmp_path), env=env)
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["spot_chain.y"] == 3
    entered = states_entered(out.run_dir)
    assert (entered.count("call first: run"), entered.count("call second: run")) == (2, 1)
    assert entered[entered.index("job failed: retry") + 1] == "call first: run"
