"""A 3,000-shard scatter run through the CLI stays within the Step Functions quotas.

One run (module fixture) of a trivial task scattered 3,000 ways, then each test reads what the
local executor wrote: every execution's history.jsonl (the parent, each Distributed Map child
under map_runs/... and the call machine execution each shard starts, under its child's
executions/) against the 25,000-event quota, every state input/output against 256 KiB, and the
compiler's `--report-json` predictions (child-execution and call-execution events, transitions
per shard) against the histories actually written. A second, small run (four top-level scatters, one nested) pins the
report's count of Distributed Map states against what the executor writes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import wdl2sfn

from ..conftest import SAMPLES

SHARDS = 3000
EVENT_LIMIT = 25_000
PAYLOAD_LIMIT = 256 * 1024

WORKFLOW = (SAMPLES / "wide_scatter" / "wide_scatter.wdl").read_text()


@dataclass
class History:
    path: Path
    events: list[dict[str, Any]]


@dataclass
class WideRun:
    code: int
    stderr: str
    outputs: dict[str, Any] | None
    run_dir: Path | None
    report: dict[str, Any]
    histories: list[History]


@pytest.fixture(scope="module")
def wide_run(tmp_path_factory: pytest.TempPathFactory) -> WideRun:
    tmp = tmp_path_factory.mktemp("wide")
    wdl = tmp / "wide.wdl"
    wdl.write_text(WORKFLOW)
    report_path = tmp / "report.json"
    compiled = wdl2sfn(
        "compile", str(wdl), "-o", str(tmp / "wide.json"), "--report-json", str(report_path)
    )
    assert compiled.code == 0, compiled.stderr
    res = wdl2sfn(
        "run", "--no-cache", "--dir", str(tmp / "runs"), str(wdl), f"n={SHARDS}", timeout=600
    )
    outputs = run_dir = None
    if res.code == 0:
        out = res.json
        outputs, run_dir = out["outputs"], Path(out["dir"])
    histories = []
    if run_dir is not None:
        for path in sorted(run_dir.rglob("history.jsonl")):
            lines = path.read_text().splitlines()
            histories.append(History(path, [json.loads(line) for line in lines if line.strip()]))
    return WideRun(
        res.code, res.stderr, outputs, run_dir, json.loads(report_path.read_text()), histories
    )


def _children(run: WideRun) -> list[History]:
    """The Distributed Map child executions (not the call machine executions they start)."""
    assert run.run_dir is not None
    return [
        h
        for h in run.histories
        if "map_runs" in h.path.relative_to(run.run_dir).parts and not _started(h)
    ]


def _calls(run: WideRun) -> list[History]:
    """The call machine executions the shards started (one per shard, in its child's folder)."""
    assert run.run_dir is not None
    return [
        h
        for h in run.histories
        if "map_runs" in h.path.relative_to(run.run_dir).parts and _started(h)
    ]


def _started(history: History) -> bool:
    """An execution a Task started (a call's, the finish machine's): <caller>/executions/<id>."""
    return history.path.parent.parent.name == "executions"


def test_wide_scatter_succeeds_with_every_shard_output(wide_run: WideRun) -> None:
    assert wide_run.code == 0, wide_run.stderr[-3000:]
    assert wide_run.outputs == {"wide_scatter.outs": list(range(SHARDS))}


def test_every_execution_ends_succeeded(wide_run: WideRun) -> None:
    assert wide_run.histories, "no history.jsonl written"
    assert all(h.events[-1]["type"] == "ExecutionSucceeded" for h in wide_run.histories)


def test_shards_run_in_distributed_map_children_of_the_reported_size(wide_run: WideRun) -> None:
    (scatter,) = wide_run.report["history"]["scatters"]
    expected = math.ceil(SHARDS / scatter["shards_per_child_execution"])
    assert len(_children(wide_run)) == expected


def test_every_execution_has_fewer_than_25000_events(wide_run: WideRun) -> None:
    counts = {str(h.path): len(h.events) for h in wide_run.histories}
    assert counts
    assert max(counts.values()) < EVENT_LIMIT, counts


def test_every_state_input_and_output_is_under_256_kib(wide_run: WideRun) -> None:
    biggest = 0
    for h in wide_run.histories:
        for ev in h.events:
            entered = ev.get("stateEnteredEventDetails", {}).get("input", "")
            exited = ev.get("stateExitedEventDetails", {}).get("output", "")
            biggest = max(biggest, len(entered.encode()), len(exited.encode()))
    assert 0 < biggest < PAYLOAD_LIMIT


def test_report_predicts_the_largest_child_history(wide_run: WideRun) -> None:
    """The report's child_execution_events is a happy-path bound the compiler sizes batches by:
    it must not undercount, and must not be off by more than 5% on this plain scatter."""
    (scatter,) = wide_run.report["history"]["scatters"]
    predicted = scatter["child_execution_events"]
    actual = max(len(h.events) for h in _children(wide_run))
    assert actual <= predicted, (actual, predicted)
    assert predicted - actual <= 0.05 * predicted, (actual, predicted)


def test_every_call_execution_has_the_reported_events(wide_run: WideRun) -> None:
    """One call machine execution per shard, each its own history of the report's count."""
    expected = wide_run.report["history"]["call_execution_events"]
    assert sorted(len(h.events) for h in _calls(wide_run)) == [expected] * SHARDS


def test_report_bounds_the_parent_history(wide_run: WideRun) -> None:
    assert wide_run.run_dir is not None
    (root,) = [h for h in wide_run.histories if h.path.parent == wide_run.run_dir]
    assert len(root.events) <= wide_run.report["history"]["root_execution_events"]


def test_transitions_per_shard_match_the_report(wide_run: WideRun) -> None:
    """Billed transitions (one per *StateEntered) of the children and of the call machine
    executions their shards started, divided by the shards."""
    (scatter,) = wide_run.report["history"]["scatters"]
    executions = _children(wide_run) + _calls(wide_run)
    entered = sum(1 for h in executions for ev in h.events if ev["type"].endswith("StateEntered"))
    per_shard = entered / SHARDS
    assert scatter["transitions_per_shard"] <= per_shard < scatter["transitions_per_shard"] + 0.01


# ------------------------------------------------------------------ small: Distributed Map states
# A workflow whose top execution holds four Distributed Map states and whose first scatter holds
# another (nested): each such Map state writes MapStateEntered, MapStateStarted, MapRunStarted,
# MapRunSucceeded, MapStateSucceeded, MapStateExited (6 events) in the executor's history, and
# the compiler counts exactly that (events.DISTRIBUTED_MAP_STATE), so its report bounds them.

MAPS_WORKFLOW = """\
version 1.1

task t {
  input {
    Int i
  }
  command <<<
    echo ~{i}
  >>>
  output {
    Int out = read_int(stdout())
  }
}

workflow maps {
  scatter (a in range(2)) {
    scatter (a2 in range(2)) {
      call t as ta { input: i = a + a2 }
    }
  }
  scatter (b in range(2)) {
    call t as tb { input: i = b }
  }
  scatter (c in range(2)) {
    call t as tc { input: i = c }
  }
  scatter (d in range(2)) {
    call t as td { input: i = d }
  }
  output {
    Array[Int] o = flatten([flatten(ta.out), tb.out, tc.out, td.out])
  }
}
"""


@pytest.fixture(scope="module")
def maps_run(tmp_path_factory: pytest.TempPathFactory) -> WideRun:
    tmp = tmp_path_factory.mktemp("maps")
    wdl = tmp / "maps.wdl"
    wdl.write_text(MAPS_WORKFLOW)
    report_path = tmp / "report.json"
    compiled = wdl2sfn(
        "compile", str(wdl), "-o", str(tmp / "maps.json"), "--report-json", str(report_path)
    )
    assert compiled.code == 0, compiled.stderr
    res = wdl2sfn("run", "--no-cache", "--dir", str(tmp / "runs"), str(wdl))
    assert res.code == 0, res.stderr[-3000:]
    run_dir = Path(res.json["dir"])
    histories = [
        History(p, [json.loads(line) for line in p.read_text().splitlines() if line.strip()])
        for p in sorted(run_dir.rglob("history.jsonl"))
    ]
    report = json.loads(report_path.read_text())
    return WideRun(res.code, res.stderr, res.json["outputs"], run_dir, report, histories)


def test_report_bounds_a_parent_history_with_four_distributed_maps(maps_run: WideRun) -> None:
    assert maps_run.run_dir is not None
    (root,) = [h for h in maps_run.histories if h.path.parent == maps_run.run_dir]
    assert len(root.events) <= maps_run.report["history"]["root_execution_events"]


def test_report_bounds_an_outer_child_holding_a_distributed_map(maps_run: WideRun) -> None:
    outer = next(
        s for s in maps_run.report["history"]["scatters"] if s["scatter"] == "scatter a in range(2)"
    )
    assert maps_run.run_dir is not None
    outer_children = [
        h
        for h in maps_run.histories
        if h.path.relative_to(maps_run.run_dir).parts[:2]
        == ("map_runs", "scatter a in range(2): shards")
        and len(h.path.relative_to(maps_run.run_dir).parts) == 4
    ]
    assert outer_children
    assert max(len(h.events) for h in outer_children) <= outer["child_execution_events"]
