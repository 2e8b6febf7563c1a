"""The compiled definition's structure: one behaviour of the compiler per test."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wdl2sfn.compiler import compile_workflow
from wdl2sfn.compiler.asl import MAX_STATE_NAME
from wdl2sfn.compiler.events import graph_transitions
from wdl2sfn.compiler.report import cost_model
from wdl2sfn.compiler.stack_machines import stack_machines
from wdl2sfn.contract import CALL_MACHINE, START_MACHINE

from ..conftest import ROOT, SAMPLES, sample

FIXTURES = ROOT / "tests" / "fixtures"
ALL_SAMPLES = sorted(p for p in SAMPLES.glob("*/*.wdl") if p.stem == p.parent.name)

# statelint 3.1 predates ReaderConfig.InputType, which AWS documents for JSON item files:
# https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html
KNOWN_STATELINT_GAPS = [re.compile(r'Field "InputType" not allowed in .*ItemReader\.ReaderConfig')]


def all_states(states: dict[str, Any]):
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from all_states(branch["States"])
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from all_states(state[key]["States"])


def statelint_errors(definition: dict[str, Any], tmp_path: Path) -> list[str]:
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(definition))
    out = subprocess.run(
        [str(Path(sys.executable).parent / "statelint"), str(path)], capture_output=True, text=True
    )
    lines = [ln.strip() for ln in (out.stdout + out.stderr).splitlines()]
    problems = [ln for ln in lines if ln and not re.match(r"^(One error|\d+ errors):?$", ln)]
    return [p for p in problems if not any(g.search(p) for g in KNOWN_STATELINT_GAPS)]


@pytest.mark.parametrize("wdl", ALL_SAMPLES, ids=lambda p: p.stem)
def test_statelint_accepts_every_sample(wdl: Path, tmp_path: Path):
    assert statelint_errors(compile_workflow(str(wdl)).definition, tmp_path) == []


@pytest.mark.parametrize("wdl", ALL_SAMPLES, ids=lambda p: p.stem)
def test_statelint_accepts_every_sample_in_fsx_mode(wdl: Path, tmp_path: Path):
    """FSx reads a step's result with s3:getObject, placing prepare's straight from its
    ResultSelector (an intrinsic function there) without a Pass."""
    definition = compile_workflow(str(wdl), filesystem="fsx").definition
    assert statelint_errors(definition, tmp_path) == []


def test_statelint_accepts_child_machines(tmp_path: Path):
    compiled = compile_workflow(str(sample("subworkflow")), subworkflows="machine")
    for child in compiled.children.values():
        assert statelint_errors(child.definition, tmp_path) == []


def test_only_placeholders_name_aws_resources():
    text = json.dumps(compile_workflow(str(sample("conditional"))).definition)
    for arn in re.findall(r"arn:aws:[^\"]*", text):
        assert arn.startswith("arn:aws:states:::"), arn  # service integrations only


def test_payloads_carry_no_wdl_values():
    allowed = {
        "run.$",
        "node",
        "node.$",
        "shard.$",
        "step.$",  # prepare's echo of the call's run, node and shard
        "queues",
        "error.$",
        "input.$",
        "execution.$",
        "workflow",
        "runner",
    }
    definition = compile_workflow(str(sample("files"))).definition
    for _, state in all_states(definition["States"]):
        payload = state.get("Parameters", {}).get("Payload")
        if payload is not None:
            assert set(payload) <= allowed, set(payload) - allowed
        assert state.get("Parameters", {}).get("Payload.$") in (None, "$.prep.job.step")


def test_one_distributed_map_per_scatter():
    definition = compile_workflow(str(FIXTURES / "nested.wdl")).definition
    maps = [
        s for _, s in all_states(definition["States"]) if s["Type"] == "Map" and "ItemReader" in s
    ]
    assert len(maps) == 2
    assert all(m["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED" for m in maps)


def test_outer_scatter_with_inner_scatter_runs_one_child_per_shard():
    definition = compile_workflow(str(FIXTURES / "nested.wdl")).definition
    outer = definition["States"]["scatter i in range(n): shards"]
    assert "ItemBatcher" not in outer
    inner = [
        s for n, s in all_states(definition["States"]) if n == "scatter j in range(i + 1): shards"
    ][0]
    assert inner["ItemBatcher"]["MaxItemsPerBatch"] >= 1


def test_one_choice_per_if():
    definition = compile_workflow(str(FIXTURES / "nested.wdl")).definition
    names = [n for n, _ in all_states(definition["States"])]
    assert names.count("if deep: taken?") == 1


def test_state_names_are_unique_and_short():
    definition = compile_workflow(str(sample("conditional"))).definition
    names = [n for n, _ in all_states(definition["States"])]
    assert len(names) == len(set(names))
    assert max(map(len, names)) <= MAX_STATE_NAME


def test_state_names_read_like_the_workflow():
    names = [
        n
        for n, _ in all_states(compile_workflow(str(sample("scatter_gather"))).definition["States"])
    ]
    assert "call square" in names and "scatter n in numbers" in names and "call sum" in names


def test_series_parallel_dag_adds_no_waits():
    assert compile_workflow(str(sample("conditional"))).plan.added_waits == []


def test_non_series_parallel_dag_adds_no_wait_and_reports_its_join():
    compiled = compile_workflow(str(FIXTURES / "n_shape.wdl"))
    assert compiled.plan.added_waits == []
    joins = compiled.report["joins"]
    wait = joins["waits"]
    assert [(w["unit"], w["waits_for"]) for w in wait] == [("call c", ["call b"])]
    assert (wait[0]["transitions"], wait[0]["lambda_calls"], wait[0]["runner_jobs"]) == (1, 1, 0)
    assert [r["unit"] for r in joins["releases"]] == ["call b"]


def test_independent_calls_share_a_parallel_state():
    definition = compile_workflow(str(sample("conditional"))).definition
    parallel = [s for _, s in all_states(definition["States"]) if s["Type"] == "Parallel"]
    assert parallel and len(parallel[0]["Branches"]) == 3


def test_inlined_subworkflow_calls_its_tasks_directly():
    compiled = compile_workflow(str(sample("subworkflow")))
    names = [n for n, _ in all_states(compiled.definition["States"])]
    assert "call summarize.describe" in names
    assert compiled.children == {}


def test_subworkflow_as_machine_uses_start_execution_sync():
    compiled = compile_workflow(str(sample("subworkflow")), subworkflows="machine")
    tasks = [
        s
        for _, s in all_states(compiled.definition["States"])
        if s.get("Resource", "").startswith("arn:aws:states:::states:")
    ]
    assert tasks and tasks[0]["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert "StateMachineArn_summarize" in compiled.placeholders
    assert set(compiled.children) == {"summarize"}


def test_report_bounds_history_of_every_execution():
    report = compile_workflow(str(FIXTURES / "nested.wdl")).report
    assert report["history"]["worst_execution_events"] < 25_000
    assert report["definition_bytes"] < report["definition_limit_bytes"]


def test_transitions_per_call_are_the_call_state_and_its_call_machines_path():
    for filesystem in ("efs", "fsx"):
        report = compile_workflow(str(sample("hello")), filesystem=filesystem).report
        machine = stack_machines(filesystem)[CALL_MACHINE]
        assert report["transitions"]["per_call"] == 1 + graph_transitions(machine)


def test_transitions_per_call_keep_the_orchestration_under_a_quarter_of_the_engine_job():
    """docs/cost.md: 5 transitions per call since a call runs in the stack's call machine
    (issue 25's bytes per call), 0.23 of the engine job for 1,000 calls over 10 hours, where 4
    transitions made 0.187 (the goal was 0.20)."""
    per_call = compile_workflow(str(sample("hello"))).report["transitions"]["per_call"]
    assert per_call == 5
    model = cost_model(calls_total=1000, hours=10.0, transitions_per_call=per_call)
    assert model["ratio"] <= 0.25


def test_first_state_is_init_accepting_any_input():
    definition = compile_workflow(str(sample("hello"))).definition
    init = definition["States"][definition["StartAt"]]
    assert init["Parameters"]["StateMachineArn"] == "${StartMachineArn}"
    assert init["Parameters"]["Input"]["input.$"] == "$"  # the start machine's init event


def test_fsx_mode_uses_no_lambda_and_reads_results_from_the_bucket(tmp_path: Path):
    definition = compile_workflow(str(sample("scatter_gather")), filesystem="fsx").definition
    resources = {s.get("Resource") for _, s in all_states(definition["States"])}
    assert "arn:aws:states:::lambda:invoke" not in resources
    assert "arn:aws:states:::aws-sdk:s3:getObject" in resources
    assert statelint_errors(definition, tmp_path) == []
    start = stack_machines("fsx")[START_MACHINE]  # init's runner job names the task queues
    assert "${CpuQueueArn}" in json.dumps(start)  # placeholders survive intrinsic escaping
