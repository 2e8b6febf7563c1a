"""FSx mode: batch children sized from the emitted states stay inside the history quota.

With `--filesystem fsx` every run-time step is a runner Batch job followed, when it returns a
result, by an `s3:getObject` (prepare's places the job through its ResultSelector, without a
reshaping Pass): a call writes 25 events, not the 18 of EFS mode. Batch
sizes are computed from the emitted ASL, so the FSx child holds fewer shards. The run test scales
the quota down (1,000 events instead of 25,000, the compiler's budget with it) so that a scatter
"wide" for that quota runs to completion here in a minute: sized as the old plan-based model sized
it (40 shards in one child, 1,166 events), it would die at event 1,000.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wdl2sfn import wdl
from wdl2sfn.backends.local.runner import LocalRunner
from wdl2sfn.compiler import compile_document, compile_workflow, events, ir
from wdl2sfn.runs.failure import innermost_failure
from wdl2sfn.statemachine.quotas import Quotas
from wdl2sfn.task_runner.init import write_bundle
from wdl2sfn.task_runner.store import RunStore

from ..conftest import SAMPLES

WIDE = SAMPLES / "wide_scatter" / "wide_scatter.wdl"
TWO_CALLS = """\
version 1.1
workflow two {
  input { Int n }
  scatter (i in range(n)) {
    call t as a { input: i = i }
    call t as b { input: i = a.out }
  }
  output { Array[Int] outs = b.out }
}
task t {
  input { Int i }
  command <<< echo ~{i} >>>
  output { Int out = read_int(stdout()) }
}
"""
SMALL_LIMIT = 1_000
SHARDS = 40


def _shards_map(definition: dict[str, Any]) -> dict[str, Any]:
    ((_, state),) = events.distributed_maps(definition)
    return state


def test_an_fsx_call_costs_the_events_of_its_three_state_steps():
    efs = _shards_map(compile_workflow(str(WIDE)).definition)
    fsx = _shards_map(compile_workflow(str(WIDE), filesystem="fsx").definition)
    body = "ItemProcessor"
    per_shard_efs = events.graph_events(efs[body], 1) - events.MAP_STATE
    per_shard_fsx = events.graph_events(fsx[body], 1) - events.MAP_STATE
    assert per_shard_efs == events.ITERATION + 5 + 2 + 6 + 5
    assert per_shard_fsx == events.ITERATION + (6 + 5) + 2 + 6 + 6


def test_fsx_children_hold_fewer_shards_and_stay_in_budget_fixed_events_included(tmp_path: Path):
    wdl_path = tmp_path / "two.wdl"
    wdl_path.write_text(TWO_CALLS)
    for mode in ("efs", "fsx"):
        report = compile_workflow(str(wdl_path), filesystem=mode).report
        (scatter,) = report["history"]["scatters"]
        assert scatter["child_execution_events"] <= report["history"]["child_budget"]
    fsx = compile_workflow(str(wdl_path), filesystem="fsx").report["history"]["scatters"][0]
    assert fsx["shards_per_child_execution"] == (20_000 - 6) // (2 + 2 * 25)


@pytest.fixture(scope="module")
def fsx_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Any, Path]:
    root = tmp_path_factory.mktemp("fsx")
    doc = wdl.load(str(WIDE))
    options = ir.Options(filesystem="fsx", history_limit=SMALL_LIMIT)
    compiled = compile_document(doc, options)
    write_bundle(RunStore(root), compiled.digest, compiled.main, compiled.name, compiled.sources)
    request = {"inputs": {"wide_scatter.n": SHARDS}, "run": {"name": "wide", "no_cache": True}}
    backend = LocalRunner(root=root, quotas=Quotas(history_events=SMALL_LIMIT))
    outcome = backend.execute(compiled.definition, request, "wide", {}, {compiled.digest: doc})
    return compiled.report, outcome.result, outcome.run_dir


def test_a_wide_fsx_scatter_runs_to_completion(fsx_run):
    report, result, run_dir = fsx_run
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    outputs = json.loads((run_dir / "outputs.json").read_text())
    assert outputs == {"wide_scatter.outs": list(range(SHARDS))}


def test_every_fsx_history_stays_inside_the_quota_and_the_report_bounds_it(fsx_run):
    report, _, run_dir = fsx_run
    (scatter,) = report["history"]["scatters"]
    children = [len(p.read_text().splitlines()) for p in run_dir.glob("map_runs/*/*/history.jsonl")]
    assert len(children) == -(-SHARDS // scatter["shards_per_child_execution"]) > 1
    assert max(children) <= scatter["child_execution_events"] < SMALL_LIMIT
    assert scatter["child_execution_events"] - max(children) <= 0.05 * max(children)
    root = len((run_dir / "history.jsonl").read_text().splitlines())
    assert root <= report["history"]["root_execution_events"]


def test_a_history_limit_failure_is_reported_with_its_own_message(tmp_path: Path):
    """Batches sized for 25,000 events, run under 1,000: the child dies at its history quota,
    and the run's innermost failure says so (not the Map's tolerated-failure threshold)."""
    doc = wdl.load(str(WIDE))
    compiled = compile_document(doc, ir.Options(filesystem="fsx"))
    write_bundle(
        RunStore(tmp_path), compiled.digest, compiled.main, compiled.name, compiled.sources
    )
    request = {"inputs": {"wide_scatter.n": SHARDS}, "run": {"name": "over", "no_cache": True}}
    backend = LocalRunner(root=tmp_path, quotas=Quotas(history_events=SMALL_LIMIT))
    outcome = backend.execute(compiled.definition, request, "over", {}, {compiled.digest: doc})
    result = outcome.result
    assert (result.status, result.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    error, cause, *_ = innermost_failure(outcome.run_dir, result.error or "", result.cause or "")
    assert error == "States.Runtime"
    assert "maximum number of history events (1000)" in cause
