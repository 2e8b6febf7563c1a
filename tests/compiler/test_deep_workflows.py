"""Long chains, long declaration chains and deep nesting compile (or fail clearly) whatever
their depth: nothing in the compiler recurses once per call."""

from __future__ import annotations

import json
from pathlib import Path

from wdl2sfn.compiler import MAX_SECTION_NESTING, compile_workflow
from wdl2sfn.compiler.schedule import Seq, schedule

from ..integration.helpers import wdl2sfn
from .test_split import LIMIT, chain_workflow, size

TASK = [
    "task step {",
    "  input { Int x }",
    "  command <<< echo $(( ~{x} + 1 )) >>>",
    "  output { Int y = read_int(stdout()) }",
    "}",
]


def declaration_chain(path: Path, decls: int) -> Path:
    """A call fed through `decls` declarations, each computed from the one before."""
    lines = ["version 1.1", "workflow decls {", "  input { Int start = 0 }", "  Int a0 = start"]
    lines += [f"  Int a{i} = a{i - 1} + 1" for i in range(1, decls)]
    lines += [
        f"  call step {{ input: x = a{decls - 1} }}",
        "  call step as after { input: x = step.y }",
    ]
    path.write_text("\n".join([*lines, "}", *TASK]) + "\n")
    return path


def nested_sections(path: Path, levels: int) -> Path:
    """scatter in if in scatter ... `levels` sections deep, one call at the bottom."""
    lines = ["version 1.1", "workflow nest {", "  input { Array[Int] xs = [1, 2] }"]
    for level in range(levels):
        pad = "  " * (level + 1)
        lines.append(
            f"{pad}scatter (x{level} in xs) {{"
            if level % 2 == 0
            else f"{pad}if (x{level - 1} > 0) {{"
        )
    lines.append("  " * (levels + 1) + "call step { input: x = 1 }")
    lines += ["  " * (level + 1) + "}" for level in reversed(range(levels))]
    path.write_text("\n".join([*lines, "}", *TASK]) + "\n")
    return path


def test_a_chain_of_3000_calls_compiles_into_parts_under_the_limit(tmp_path: Path):
    """3,000 calls of ~450 bytes each: 1.3 MB in one machine, over the 1 MB limit."""
    compiled = compile_workflow(str(chain_workflow(tmp_path / "big.wdl", 3000)))
    machines = compiled.all_machines()
    assert len(machines) >= 2
    assert all(size(m.definition) < LIMIT for m in [compiled, *machines.values()])
    assert compiled.report["calls"] == 3000


def test_a_chain_of_1500_calls_compiles_through_the_cli(tmp_path: Path):
    out = tmp_path / "big.json"
    result = wdl2sfn("compile", str(chain_workflow(tmp_path / "big.wdl", 1500)), "-o", str(out))
    assert result.code == 0, result.stderr
    assert json.loads(out.read_text())["StartAt"]


def test_a_chain_of_10000_items_schedules_as_one_flat_sequence():
    items = [f"c{i}" for i in range(10_000)]
    deps = {items[i]: {items[i - 1]} for i in range(1, len(items))}
    tree = schedule(items, deps).tree
    assert isinstance(tree, Seq) and tree.steps == items


def test_a_chain_of_2000_declarations_compiles(tmp_path: Path):
    compiled = compile_workflow(str(declaration_chain(tmp_path / "decls.wdl", 2000)))
    assert compiled.report["calls"] == 2


def test_sections_nested_50_deep_compile(tmp_path: Path):
    compiled = compile_workflow(str(nested_sections(tmp_path / "nest.wdl", 50)))
    assert compiled.report["calls"] == 1


def test_sections_nested_past_the_limit_fail_with_a_clear_error(tmp_path: Path):
    wdl = nested_sections(tmp_path / "nest.wdl", MAX_SECTION_NESTING + 1)
    result = wdl2sfn("compile", str(wdl))
    assert result.code != 0
    assert f"nests scatter/if sections {MAX_SECTION_NESTING + 1} deep" in result.stderr
    assert "internal error" not in result.stderr
