"""FSx mode: batch children sized from the emitted states stay inside the history quota.

A call is one `startExecution.sync:2` Task: in a Distributed Map child a shard writes its 6
events (and the iteration's 2) whatever the file system, and the call's steps run in a call
machine execution of its own. With `--filesystem fsx` every run-time step there is a runner Batch
job followed, when it returns a result, by an `s3:getObject` (prepare's places the job through
its ResultSelector, without a reshaping Pass): a call machine execution writes 27 events, not the
20 of EFS mode. Batch sizes are computed from the emitted ASL. The run test scales the quota down
(300 events instead of 25,000, the compiler's budget with it) so that a scatter "wide" for that
quota runs to completion here in a minute: sized for 25,000 events (40 shards in one child, 326
events), it would die at event 300.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wdl2sfn import wdl
from wdl2sfn.backends.local.run import local_machines
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
SMALL_LIMIT = 300
SHARDS = 40


def _shards_map(definition: dict[str, Any]) -> dict[str, Any]:
    ((_, state),) = events.distributed_maps(definition)
    return state


def test_a_call_is_one_sync_task_in_the_child_and_its_steps_are_its_own_execution():
    for mode in ("efs", "fsx"):
        shards = _shards_map(compile_workflow(str(WIDE), filesystem=mode).definition)
        per_shard = events.graph_events(shards["ItemProcessor"], 1) - events.MAP_STATE
        assert per_shard == events.ITERATION + events.SYNC_TASK
    efs = compile_workflow(str(WIDE)).report["history"]
    fsx = compile_workflow(str(WIDE), filesystem="fsx").report["history"]
    # prepare (Lambda | runner job, s3:getObject), cached?, run (Batch .sync), collect
    assert efs["call_execution_events"] == events.EXECUTION + 5 + 2 + 6 + 5
    assert fsx["call_execution_events"] == events.EXECUTION + (6 + 5) + 2 + 6 + 6


def test_children_hold_as_many_shards_in_both_modes_and_stay_in_budget(tmp_path: Path):
    """A shard's events in its child no longer depend on the file system (its calls' steps are
    in their own executions), so FSx children hold as many shards as EFS children: the budget
    less the fixed events over 2 + 6 per call, up to the cap."""
    wdl_path = tmp_path / "two.wdl"
    wdl_path.write_text(TWO_CALLS)
    doc = wdl.load(str(wdl_path))
    sizes = {}
    for mode in ("efs", "fsx"):
        for limit in (SMALL_LIMIT, events.HISTORY_LIMIT):
            options = ir.Options(filesystem=mode, history_limit=limit)
            history = compile_document(doc, options).report["history"]
            (scatter,) = history["scatters"]
            assert scatter["child_execution_events"] <= history["child_budget"]
            assert history["call_execution_events"] <= history["worst_execution_events"] < limit
            sizes[mode, limit] = scatter["shards_per_child_execution"]
    per_shard = events.ITERATION + 2 * events.SYNC_TASK
    small = (events.budget(SMALL_LIMIT) - events.CHILD_FIXED) // per_shard
    assert sizes["efs", SMALL_LIMIT] == sizes["fsx", SMALL_LIMIT] == small == 16
    assert sizes["efs", events.HISTORY_LIMIT] == sizes["fsx", events.HISTORY_LIMIT] == 500


@pytest.fixture(scope="module")
def fsx_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Any, Path]:
    root = tmp_path_factory.mktemp("fsx")
    doc = wdl.load(str(WIDE))
    options = ir.Options(filesystem="fsx", history_limit=SMALL_LIMIT)
    compiled = compile_document(doc, options)
    write_bundle(RunStore(root), compiled.digest, compiled.main, compiled.name, compiled.sources)
    request = {"inputs": {"wide_scatter.n": SHARDS}, "run": {"name": "wide", "no_cache": True}}
    backend = LocalRunner(root=root, quotas=Quotas(history_events=SMALL_LIMIT))
    machines = local_machines(compiled)
    outcome = backend.execute(
        compiled.definition, request, "wide", machines, {compiled.digest: doc}
    )
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


def test_every_call_machine_execution_stays_inside_the_quota_as_the_report_counts_it(fsx_run):
    """One call machine execution per shard, in the child that started it, each of exactly the
    report's events; the finish machine's execution, in the run's, bounded by its count."""
    report, _, run_dir = fsx_run
    calls = [_lines(p) for p in run_dir.glob("map_runs/*/*/executions/*/history.jsonl")]
    assert calls == [report["history"]["call_execution_events"]] * SHARDS
    top = list(run_dir.glob("executions/*/history.jsonl"))
    (finish,) = [_lines(p) for p in top if ":stateMachine:wdl2sfn-finish" in p.read_text()]
    assert finish <= report["history"]["finish_execution_events"] < SMALL_LIMIT


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


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
    machines = local_machines(compiled)
    outcome = backend.execute(
        compiled.definition, request, "over", machines, {compiled.digest: doc}
    )
    result = outcome.result
    assert (result.status, result.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    error, cause, *_ = innermost_failure(outcome.run_dir, result.error or "", result.cause or "")
    assert error == "States.Runtime"
    assert f"maximum number of history events ({SMALL_LIMIT})" in cause
