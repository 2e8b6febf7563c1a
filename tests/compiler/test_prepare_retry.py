"""A prepare whose Lambda invocation times out is tried again (issue 20, item 5): prepare downloads
remote inputs (or waits for another shard's download, task_runner/download_lock.py) inside a
function of 10 minutes, and Step Functions reports its timeout as Lambda.Unknown: "Unhandled
errors in Lambda are reported as Lambda.Unknown in the error output. These include out-of-memory
errors and function timeouts" (Step Functions developer guide, "Handle Lambda service
exceptions", https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
The rehearsal reports a function's timeout the same way (it said Sandbox.Timedout, which no
retrier of the stack matched)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wdl2sfn.backends.local.resources import lambda_timeout_error
from wdl2sfn.compiler import compile_workflow
from wdl2sfn.contract import PREPARE_FUNCTION

from .test_split import chain_workflow


def lambda_states(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Every lambda:invoke Task state, however deep."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("Type") == "Task" and "lambda:invoke" in str(value.get("Resource")):
                found.append(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(definition)
    return found


def retried(state: dict[str, Any], error: str) -> bool:
    return any(error in r["ErrorEquals"] for r in state.get("Retry", []))


def test_every_prepare_is_retried_when_its_invocation_times_out(tmp_path: Path) -> None:
    compiled = compile_workflow(str(chain_workflow(tmp_path / "a.wdl", 3)))
    machines = [compiled.definition, *compiled.stack_machines().values()]
    states = [s for m in machines for s in lambda_states(m)]
    prepares = [s for s in states if PREPARE_FUNCTION in json.dumps(s["Parameters"])]
    assert len(prepares) == 1  # in the call machine, which runs every call
    assert all(retried(s, "Lambda.Unknown") for s in prepares)
    # the other steps keep the standard retry: their failures are the run's, not a download's
    assert not any(retried(s, "Lambda.Unknown") for s in states if s not in prepares)


def test_a_timed_out_invocation_is_reported_as_step_functions_reports_it() -> None:
    exn = lambda_timeout_error("Task timed out after 600.00 seconds", "req-1")
    assert getattr(exn, "error", None) == "Lambda.Unknown"
    assert str(getattr(exn, "cause", "")).startswith(
        "The cause could not be determined because Lambda did not return an error type."
    )
    assert "Task timed out after 600.00 seconds" in str(getattr(exn, "cause", ""))
