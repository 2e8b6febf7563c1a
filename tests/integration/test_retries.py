"""maxRetries and spot interruptions, through the CLI, with the local Batch's fault injection."""

from __future__ import annotations

import json

from ..conftest import ROOT
from .helpers import all_histories, batch_jobs_of, call_executions, entered, history, wdl2sfn

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


def _spot_then_on_demand(run_dir, call):
    """The one call machine execution of `call X`: its states entered, and the queues of the
    jobs of its task (not FSx runner jobs) in order."""
    (events,) = call_executions(run_dir)[f"call {call}"]
    jobs = [job for job in batch_jobs_of(events) if job["JobName"] == f"spot_chain-{call}"]
    return entered(events, f"call {call}"), [job["JobQueue"].rsplit("/", 1)[-1] for job in jobs]


def test_each_call_machine_execution_sends_its_on_demand_job_back_to_its_own_run(tmp_path):
    """Two calls of one graph, both interrupted on spot: each call's own execution goes from
    `job failed` back to its own `call: run`, on demand, and succeeds."""
    env = faults(
        {"job": "spot_chain-first", "queue": "wdl2sfn-spot", "reason": HOST_GONE},
        {"job": "spot_chain-second", "queue": "wdl2sfn-spot", "reason": HOST_GONE},
    )
    out = wdl2sfn("run", SPOT_CHAIN, "--dir", str(tmp_path), env=env)
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["spot_chain.y"] == 3
    for call in ("first", "second"):
        states, queues = _spot_then_on_demand(out.run_dir, call)
        assert states == [
            f"call {call}",
            f"call {call}: cached?",
            f"call {call}: run",
            "job failed",
            f"call {call}: run",
            f"call {call}: collect",
        ]
        assert queues == ["wdl2sfn-spot", "wdl2sfn-cpu"]
    top = entered(history(out.run_dir))
    assert "job failed" not in top and top.count("call first") == top.count("call second") == 1


def test_in_fsx_mode_a_call_machine_execution_sends_the_job_back_to_its_own_run(tmp_path):
    """FSx: the first call's execution retries on demand; the second's never fails."""
    env = faults({"job": "spot_chain-first", "queue": "wdl2sfn-spot", "reason": HOST_GONE})
    out = wdl2sfn("run", SPOT_CHAIN, "--filesystem", "fsx", "--dir", str(tmp_path), env=env)
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["spot_chain.y"] == 3
    first, first_queues = _spot_then_on_demand(out.run_dir, "first")
    second, second_queues = _spot_then_on_demand(out.run_dir, "second")
    # FSx: the failure step is a runner job, its result's s3:getObject and a Pass reading it
    after = first[first.index("job failed") :]
    assert after == [
        "job failed",
        "job failed: result",
        "job failed: read",
        "call first: run",
        "call first: collect",
    ]
    assert (first.count("call first: run"), second.count("call second: run")) == (2, 1)
    assert "job failed" not in second
    assert (first_queues, second_queues) == (["wdl2sfn-spot", "wdl2sfn-cpu"], ["wdl2sfn-spot"])
