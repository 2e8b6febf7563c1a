"""Big workflows are split into child machines so no definition passes Step Functions' 1 MiB."""

from __future__ import annotations

import json
import random
from pathlib import Path

from wdl2sfn import wdl
from wdl2sfn.compiler import compile_document, compile_workflow
from wdl2sfn.compiler.asl import definition_bytes, deployed_bytes_bound
from wdl2sfn.compiler.ir import Options

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


def test_every_machine_of_a_600_call_workflow_fits_the_definition_limit(tmp_path: Path):
    compiled = compile_workflow(str(chain_workflow(tmp_path / "big.wdl", 600)))
    machines = compiled.all_machines()
    assert machines  # it did have to split
    assert size(compiled.definition) < LIMIT
    assert all(size(m.definition) < LIMIT for m in machines.values())
    assert compiled.report["calls"] == 600


def test_bytes_per_call_all_in_counts_every_part_and_each_call_once(tmp_path: Path):
    path = chain_workflow(tmp_path / "big.wdl", 40)
    compiled = compile_document(wdl.load(str(path)), Options(max_definition_bytes=30_000))
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
        "run", wdl, "-i", inputs, "--dir", str(tmp_path / "b"), "--max-definition-bytes", "6000"
    )
    assert whole.code == 0 and split.code == 0, split.stderr
    assert split.json["outputs"] == whole.json["outputs"]
    assert list((split.run_dir).rglob("executions/*/history.jsonl"))  # child machines ran


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
    compiled = compile_workflow(str(chain_workflow(tmp_path / "big.wdl", 600)))
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


def test_a_plain_call_costs_at_most_1_7_kb_of_definition_in_efs_mode(tmp_path: Path):
    # 1,679 bytes measured (2,354 with a failure step per call and the job's settings inline)
    small = compile_workflow(str(chain_workflow(tmp_path / "a.wdl", 11))).definition
    large = compile_workflow(str(chain_workflow(tmp_path / "b.wdl", 21))).definition
    assert (size(large) - size(small)) / 10 <= 1_700


def test_calls_of_one_state_graph_share_one_failure_step(tmp_path: Path):
    definition = compile_workflow(str(chain_workflow(tmp_path / "a.wdl", 3))).definition
    states = definition["States"]
    catches = {c["Next"] for s in states.values() for c in s.get("Catch", [])}
    assert catches == {"job failed"}
    routes = states[states["job failed"]["Next"]]["Choices"]
    assert [(r["StringEquals"], r["Next"]) for r in routes] == [
        (f"call-s{i}", f"call s{i}: run") for i in (0, 1, 2)
    ]


def test_an_efs_machine_names_no_job_queue_the_functions_have_them(tmp_path: Path):
    definition = compile_workflow(str(chain_workflow(tmp_path / "a.wdl", 3))).definition
    assert "QueueArn" not in json.dumps(definition)  # WDL2SFN_QUEUES, WDL2SFN_RUNNER
    assert "JobDefinitionArn" not in json.dumps(definition)


def test_an_fsx_machine_carries_the_job_queues_once_in_init(tmp_path: Path):
    wdl = str(chain_workflow(tmp_path / "a.wdl", 3))
    definition = compile_workflow(wdl, filesystem="fsx").definition
    calls = {n: s for n, s in definition["States"].items() if n.startswith("call ")}
    assert "QueueArn" not in json.dumps(calls).replace("RunnerQueueArn", "")
    init = json.dumps(definition["States"]["init: step"]["Parameters"])
    assert all(q in init for q in ("${CpuQueueArn}", "${SpotQueueArn}", "${GpuQueueArn}"))


def test_in_fsx_mode_the_shared_failure_steps_result_names_node_and_shard(tmp_path: Path):
    wdl = str(chain_workflow(tmp_path / "a.wdl", 2))
    states = compile_workflow(wdl, filesystem="fsx").definition["States"]
    key = states["job failed: result"]["Parameters"]["Key.$"]
    assert "$.prep.job.step.node" in key and "States.JsonToString($.shard)" in key


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
