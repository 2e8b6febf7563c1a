"""`compile --report` prices one run of *this* workflow: a formula in its scatter widths, valued
at assumed (or given) widths, with its assumptions; a real run measured by `wdl2sfn cost` uses
exactly the transitions, Lambda calls and Batch jobs it predicts."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import ROOT, SAMPLES
from ..integration.helpers import wdl2sfn

LONE = str(ROOT / "tests" / "fixtures" / "bwa_mem.wdl")
NESTED = str(ROOT / "tests" / "fixtures" / "nested.wdl")


def predicted(tmp_path: Path, wdl: str, *options: str, cwd: Path | None = None) -> dict:
    """The report's run cost, through the CLI."""
    out_file = tmp_path / "report.json"
    out = wdl2sfn("compile", wdl, "--report-json", str(out_file), *options, cwd=cwd)
    assert out.code == 0, out.stderr
    return json.loads(out_file.read_text())["run_cost"]


def measured(tmp_path: Path, wdl: str, *options: str, cwd: Path | None = None) -> dict:
    """What a real local run of `wdl` used, as `wdl2sfn cost RUN` counts it."""
    root = tmp_path / "runs"
    run = wdl2sfn("run", wdl, "--dir", str(root), *options, cwd=cwd)
    assert run.code == 0, run.stderr
    cost = wdl2sfn("cost", "--dir", str(root), run.run_dir.name)
    assert cost.code == 0, cost.stderr
    return cost.json["usage"]


def assert_same_counts(cost: dict, usage: dict) -> None:
    assert cost["transitions"] == usage["state_transitions"]
    assert cost["lambda_calls"] == usage["lambda_requests"]
    assert cost["runner_jobs"] + cost["task_jobs"] == usage["batch_jobs"]


def test_cost_line_prices_one_run_of_this_workflow_with_its_scatter_width():
    out = wdl2sfn("compile", "scatter_gather.wdl", "--report", cwd=SAMPLES / "scatter_gather")
    assert out.code == 0, out.stderr
    lines = out.stderr.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("cost per run")))
    assert lines[first] == "cost per run (orchestration): $0.000397 + $0.000134 × n"
    # fixed: init and its start machine's init, eval, Map, batch Map, sum's call state and its
    # call machine's 4 (prepare, cached?, run, collect), outputs and its finish machine's
    # outputs, upload? and done, done; 5 per shard
    assert lines[first + 1].startswith(
        "  at n=100: $0.0138 (515 transitions, 205 Lambda calls, 101 task jobs); "
        "a miniwdl-aws engine job costs as much in 14.2 min"
    )
    assert lines[first + 2] == (
        "  n = width of scatter n in numbers (scatter_gather.wdl:8), assumed 100: "
        "--scatter-width n=N"
    )
    assert "1000 calls" not in out.stderr


def test_cost_line_states_its_assumptions():
    out = wdl2sfn("compile", LONE, "--report")
    assumes = [line for line in out.stderr.splitlines() if line.startswith("  assumes: ")]
    assert len(assumes) == 1
    for assumption in ("happy path", "every if taken", "no call cached", "us-east-1 list prices"):
        assert assumption in assumes[0]
    assert "not priced: the tasks' own Batch compute" in assumes[0]


def test_lone_task_costs_a_fixed_amount_with_no_width(tmp_path):
    cost = predicted(tmp_path, LONE)
    assert cost["widths"] == []
    assert [t["per"] for t in cost["terms"]] == [[]]
    assert (cost["task_jobs"], cost["lambda_calls"]) == (1, 4)


def test_predicted_scatter_run_matches_the_measured_run(tmp_path):
    wf = SAMPLES / "scatter_gather"  # inputs.json scatters over 8 numbers
    cost = predicted(tmp_path, "scatter_gather.wdl", "--scatter-width", "n=8", cwd=wf)
    assert cost["at_widths"] == {"n": 8}
    assert_same_counts(cost, measured(tmp_path, "scatter_gather.wdl", "-i", "inputs.json", cwd=wf))


def test_nested_scatters_cost_the_product_of_their_widths(tmp_path):
    cost = predicted(tmp_path, NESTED, "--scatter-width", "i=3", "--scatter-width", "j=2")
    assert [t["per"] for t in cost["terms"]] == [[], ["i"], ["i", "j"]]
    # n=3: i takes 3 values, j 1, 2 and 3 of them: 6 inner shards, 2 per i on average
    assert_same_counts(cost, measured(tmp_path, NESTED))


def test_subworkflow_machine_cost_includes_the_child_machine(tmp_path):
    wf = SAMPLES / "subworkflow"
    options = ("--subworkflows", "machine")
    cost = predicted(tmp_path, "subworkflow.wdl", "-o", str(tmp_path / "m.json"), *options,
                     "--scatter-width", "2", cwd=wf)  # fmt: skip
    inline = predicted(tmp_path, "subworkflow.wdl", "--scatter-width", "2", cwd=wf)
    assert cost["task_jobs"] == inline["task_jobs"] == 2
    assert cost["transitions"] > inline["transitions"]  # each child machine's own states
    assert_same_counts(cost, measured(tmp_path, "subworkflow.wdl", "-i", "inputs.json", *options,
                                      cwd=wf))  # fmt: skip


def test_fsx_run_cost_counts_runner_jobs_instead_of_lambda(tmp_path):
    wf = SAMPLES / "scatter_gather"
    fsx = ("--filesystem", "fsx")
    cost = predicted(tmp_path, "scatter_gather.wdl", *fsx, "--scatter-width", "8", cwd=wf)
    assert cost["lambda_calls"] == 0 and cost["runner_jobs"] > 0
    assert_same_counts(cost, measured(tmp_path, "scatter_gather.wdl", "-i", "inputs.json", *fsx,
                                      cwd=wf))  # fmt: skip


def test_scatter_width_of_an_unknown_scatter_is_a_usage_error():
    out = wdl2sfn("compile", NESTED, "--report", "--scatter-width", "k=3")
    assert out.code == 2
    assert out.last_line == "--scatter-width k=3: no scatter named k (scatters: i, j)"


def test_scatter_width_must_be_a_positive_whole_number():
    out = wdl2sfn("compile", NESTED, "--scatter-width", "i=0")
    assert out.code == 2
    assert "expected N or NAME=N" in out.last_line
