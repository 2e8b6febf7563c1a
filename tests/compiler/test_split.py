"""Big workflows are split into child machines so no definition passes Step Functions' 1 MiB."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from wdl2sfn import wdl
from wdl2sfn.compiler import compile_document, compile_workflow
from wdl2sfn.compiler.asl import definition_bytes, deployed_bytes_bound
from wdl2sfn.compiler.ir import Options
from wdl2sfn.compiler.stack_machines import call_machine
from wdl2sfn.contract import CALL_MACHINE, START_MACHINE

from ..conftest import sample
from ..integration.helpers import wdl2sfn

LIMIT = 1_048_576
DEFAULT_BUDGET = Options().max_definition_bytes


def chain_workflow(path: Path, calls: int) -> Path:
    lines = ["version 1.1", "workflow big {", "  call step as s0 { input: x = 0 }"]
    lines += [f"  call step as s{i} {{ input: x = s{i - 1}.y }}" for i in range(1, calls)]
    lines += [f"  output {{ Int last = s{calls - 1}.y }}", "}"]
    lines += ["task step {", "  input { Int x }", "  command <<< echo $(( ~{x} + 1 )) >>>"]
    lines += ["  output { Int y = read_int(stdout()) }", "}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def size(definition: dict) -> int:
    return len(json.dumps(definition, separators=(",", ":")).encode())


def split_chain(tmp_path: Path, calls: int = 600, budget: int = 100_000) -> Any:
    """A chain of calls compiled under a small definition budget (600 calls are 270 KB: under
    the 1 MB limit since a call is one state; the budget makes it split all the same)."""
    path = chain_workflow(tmp_path / "big.wdl", calls)
    return compile_document(wdl.load(str(path)), Options(max_definition_bytes=budget))


def test_every_machine_of_a_600_call_workflow_fits_the_definition_budget(tmp_path: Path):
    compiled = split_chain(tmp_path)
    machines = compiled.all_machines()
    assert machines  # it did have to split
    assert deployed_bytes_bound(compiled.definition) <= 100_000
    assert all(deployed_bytes_bound(m.definition) <= 100_000 for m in machines.values())
    assert compiled.report["calls"] == 600


def test_bytes_per_call_all_in_counts_every_part_and_each_call_once(tmp_path: Path):
    path = chain_workflow(tmp_path / "big.wdl", 40)
    compiled = compile_document(wdl.load(str(path)), Options(max_definition_bytes=10_000))
    machines = [compiled.definition] + [m.definition for m in compiled.all_machines().values()]
    assert len(machines) > 1  # it did split
    figures = compiled.report["all_in"]
    assert figures["calls"] == 40
    assert figures["definition_bytes"] == sum(map(definition_bytes, machines))
    assert figures["bytes_per_call"] == round(figures["definition_bytes"] / 40)


def test_small_workflows_are_not_split():
    assert compile_workflow(str(sample("conditional"))).children == {}


def test_a_split_workflow_runs_to_the_same_outputs(tmp_path: Path):
    wdl = str(sample("conditional"))
    inputs = str(sample("conditional").parent / "inputs.json")
    whole = wdl2sfn("run", wdl, "-i", inputs, "--dir", str(tmp_path / "a"))
    split = wdl2sfn(
        "run", wdl, "-i", inputs, "--dir", str(tmp_path / "b"), "--max-definition-bytes", "2000"
    )
    assert whole.code == 0 and split.code == 0, split.stderr
    assert split.json["outputs"] == whole.json["outputs"]
    started = [
        json.loads(path.read_text().splitlines()[0])["executionStartedEventDetails"]
        for path in split.run_dir.rglob("executions/*/history.jsonl")
    ]
    assert any(":stateMachine:conditional_part" in s["stateMachineArn"] for s in started)


def layered_workflow(path: Path, layers: int, width: int, seed: int = 600) -> Path:
    """The issue's non-series-parallel shape: each call fed by two random calls above it."""
    rng = random.Random(seed)
    lines = ["version 1.1", "workflow layered {"]
    for lv in range(layers):
        for k in range(width):
            if lv == 0:
                src = str(k)
            else:
                a, b = rng.randrange(width), rng.randrange(width)
                src = f"l{lv - 1}_{a}.y + l{lv - 1}_{b}.y"
            lines.append(f"  call step as l{lv}_{k} {{ input: x = {src} }}")
    lines += ["}", "task step {", "  input { Int x }", "  command <<< echo ~{x} >>>"]
    lines += ["  output { Int y = read_int(stdout()) }", "}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def depth(machine) -> int:  # type: ignore[no-untyped-def]
    return 1 + max((depth(child) for child in machine.children.values()), default=0)


def test_parts_are_siblings_nested_at_most_two_deep(tmp_path: Path):
    compiled = split_chain(tmp_path)
    assert len(compiled.children) >= 2
    assert depth(compiled) == 2


def test_a_600_call_layered_dag_splits_and_joins_exactly(tmp_path: Path):
    compiled = compile_workflow(str(layered_workflow(tmp_path / "layered.wdl", 30, 20)))
    machines = [compiled, *compiled.all_machines().values()]
    assert depth(compiled) <= 2
    assert all(deployed_bytes_bound(m.definition) < LIMIT for m in machines)
    assert compiled.report["calls"] == 600 and compiled.plan.added_waits == []
    assert compiled.report["joins"]["waits"]


def test_fsx_parts_count_their_larger_join_states_and_stay_in_the_budget(tmp_path: Path):
    """An FSx wait is a runner job with its command line (~1 KB deployed, not ~0.7)."""
    path = layered_workflow(tmp_path / "layered.wdl", 30, 20)
    compiled = compile_workflow(str(path), filesystem="fsx")
    parts = list(compiled.all_machines().values())
    assert len(parts) >= 2 and compiled.plan.added_waits == []
    assert all(deployed_bytes_bound(m.definition) <= DEFAULT_BUDGET for m in parts)


def test_every_machine_fits_once_arns_replace_the_placeholders(tmp_path: Path):
    compiled = compile_workflow(str(chain_workflow(tmp_path / "big.wdl", 600)))
    for m in [compiled, *compiled.all_machines().values()]:
        assert m.report["definition_bytes"] < m.report["deployed_bytes_bound"] < LIMIT


@pytest.mark.parametrize("filesystem", ["efs", "fsx"])
def test_a_plain_call_costs_at_most_500_bytes_of_definition(tmp_path: Path, filesystem: str):
    # 446 bytes measured in both modes: one startExecution.sync:2 state of the call machine
    # (1,679 in EFS when a call was its own prepare, cached?, run and collect states)
    small = compile_workflow(str(chain_workflow(tmp_path / "a.wdl", 11)), filesystem=filesystem)
    large = compile_workflow(str(chain_workflow(tmp_path / "b.wdl", 21)), filesystem=filesystem)
    assert (size(large.definition) - size(small.definition)) / 10 <= 500


def test_a_failed_job_is_handled_in_the_call_machine_not_in_the_workflow(tmp_path: Path):
    compiled = compile_workflow(str(chain_workflow(tmp_path / "a.wdl", 3)))
    assert "Catch" not in json.dumps(compiled.definition)
    states = compiled.stack_machines()[CALL_MACHINE]["States"]
    assert [c["Next"] for c in states["call: run"]["Catch"]] == ["job failed"]
    assert states["job failed"]["Next"] == "call: run"  # an on-demand job after spot


def test_an_efs_machine_names_no_job_queue_the_functions_have_them(tmp_path: Path):
    definition = compile_workflow(str(chain_workflow(tmp_path / "a.wdl", 3))).definition
    assert "QueueArn" not in json.dumps(definition)  # WDL2SFN_QUEUES, WDL2SFN_RUNNER
    assert "JobDefinitionArn" not in json.dumps(definition)


def test_an_fsx_workflow_names_no_task_queue_the_start_machines_init_has_them(tmp_path: Path):
    wdl = str(chain_workflow(tmp_path / "a.wdl", 3))
    compiled = compile_workflow(wdl, filesystem="fsx")
    assert "QueueArn" not in json.dumps(compiled.definition).replace("RunnerQueueArn", "")
    start = compiled.stack_machines()[START_MACHINE]["States"]
    init = json.dumps(start["init: step"]["Parameters"])
    assert all(q in init for q in ("${CpuQueueArn}", "${SpotQueueArn}", "${GpuQueueArn}"))


def test_in_fsx_mode_the_call_machines_step_results_are_its_executions_own():
    """One execution of the call machine runs one call and shard: its name keys the result."""
    states = call_machine("fsx")["States"]
    for name in ("call: result", "job failed: result"):
        key = states[name]["Parameters"]["Key.$"]
        assert key.startswith("States.Format('_steps/{}/") and "$$.Execution.Name" in key


def fan_workflow(path: Path, calls: int) -> Path:
    """Independent calls: one Parallel branch, so one state graph and failure step, each."""
    lines = ["version 1.1", "workflow fan {"]
    lines += [f"  call step as f{i} {{ input: x = {i} }}" for i in range(calls)]
    lines += ["}", "task step {", "  input { Int x }", "  command <<< echo ~{x} >>>"]
    lines += ["  output { Int y = read_int(stdout()) }", "}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_parts_fit_their_budget_with_a_failure_step_in_every_branch(tmp_path: Path):
    budget = 100_000
    doc = wdl.load(str(fan_workflow(tmp_path / "fan.wdl", 200)))
    compiled = compile_document(doc, Options(max_definition_bytes=budget))
    machines = [compiled, *compiled.all_machines().values()]
    assert len(machines) > 2
    assert max(deployed_bytes_bound(m.definition) for m in machines) <= budget
