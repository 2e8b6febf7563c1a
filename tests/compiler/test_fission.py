"""Issue 25 item 1: a call waits only for the calls whose values it reads, also across scatter and
`if` boundaries (miniwdl's call-level graph). A section body whose parts share no values is
compiled as one unit per part over the same collection or condition (compiler/fission.py), so
a call after the scatter that reads only `A` does not wait for the Map running `B`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wdl2sfn.compiler import compile_workflow

from ..conftest import ROOT

TASK = """
task t {
  input { Array[Int] x = []  Int i = 0 }
  command <<< echo 1 >>>
  output { Int y = 1 }
}
"""

SCATTER_A_B = """
  scatter (i in [1, 2, 3]) {
    call t as A { input: i = i }
    call t as B { input: i = i }
  }
  call t as C { input: x = A.y }
  call t as D { input: x = B.y }"""

IF_A_B = """
  if (true) {
    call t as A
    call t as B
  }
  call t as C { input: x = select_all([A.y]) }"""

NESTED_A_B = """
  scatter (i in [1, 2]) {
    scatter (j in [1, 2]) {
      call t as A { input: i = j }
      call t as B { input: i = i }
    }
  }
  call t as C { input: x = flatten(A.y) }"""

IF_IN_SCATTER_A_B = """
  scatter (i in [1, 2]) {
    if (i > 0) {
      call t as A { input: i = i }
      call t as B { input: i = i }
    }
  }
  call t as C { input: x = select_all(A.y) }"""

CHAIN_A_B = """
  scatter (i in [1, 2]) {
    call t as A { input: i = i }
    call t as B { input: x = [A.y] }
  }
  call t as C { input: x = A.y }"""

PIPELINE = """
  scatter (i in [1, 2]) {
    call t as A { input: i = i }
    call t as B { input: x = [A.y] }
  }
  call t as C { input: x = B.y }
  output { Array[Int] a = A.y }"""

BODY_READS_X = """
  call t as X
  scatter (i in [1, 2]) {
    call t as A { input: i = X.y }
    call t as B { input: i = i }
    call t as C { input: x = [A.y, B.y] }
  }"""

BODY_SIBLINGS = """
  call t as X
  if (true) {
    call t as A
    call t as B { input: x = [A.y] }
    call t as C { input: x = [A.y, X.y] }
  }"""

DECL_READS_X = """
  call t as X
  scatter (i in [1, 2]) {
    Int d = X.y + i
    call t as B { input: i = i }
  }
  call t as C { input: x = d }"""


def compiled(tmp_path: Path, body: str, filesystem: str = "efs") -> dict[str, Any]:
    path = tmp_path / "w.wdl"
    path.write_text(f"version 1.1\nworkflow w {{{body}\n}}\n{TASK}")
    return compile_workflow(str(path), filesystem=filesystem).definition


Place = list[tuple[int, str]]  # (graph id, state name) from the top graph down


def places(definition: dict[str, Any]) -> tuple[dict[str, Place], dict[int, dict[str, Any]]]:
    """Where every state sits: the chain of states containing it, graph by graph."""
    found: dict[str, Place] = {}
    graphs: dict[int, dict[str, Any]] = {}

    def walk(graph: dict[str, Any], path: Place) -> None:
        graphs[id(graph)] = graph
        for name, state in graph["States"].items():
            here = [*path, (id(graph), name)]
            found[name] = here
            for sub in [*state.get("Branches", []), state.get("ItemProcessor")]:
                if sub:
                    walk(sub, here)

    walk(definition, [])
    return found, graphs


def _reachable(graph: dict[str, Any], start: str, goal: str) -> bool:
    todo, seen = [start], set()
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name in seen:
            continue
        seen.add(name)
        state = graph["States"][name]
        todo += [
            state.get("Next"),
            state.get("Default"),
            *(c["Next"] for c in state.get("Choices", [])),
        ]
        todo = [n for n in todo if n]
    return False


def waits_for(definition: dict[str, Any], before: str, after: str) -> bool:
    """Does state `after` start only once the state holding `before` (in the graph they share:
    the Map or Choice of its section, the Parallel of its branch) has finished?"""
    found, graphs = places(definition)
    for (g1, x), (g2, y) in zip(found[before], found[after], strict=False):
        if g1 != g2:  # branches of one Parallel state: side by side
            return False
        if x != y:
            return _reachable(graphs[g1], x, y)
    return False


def state_named(definition: dict[str, Any], prefix: str) -> str:
    found, _ = places(definition)
    return next(name for name in found if name.startswith(prefix))


@pytest.mark.parametrize("filesystem", ["efs", "fsx"])
def test_a_call_after_a_scatter_reading_only_a_does_not_wait_for_b_s_map(tmp_path, filesystem):
    definition = compiled(tmp_path, SCATTER_A_B, filesystem)
    assert waits_for(definition, "call A", "call C")
    assert not waits_for(definition, "call B", "call C")
    assert waits_for(definition, "call B", "call D")
    assert not waits_for(definition, "call A", "call D")


def test_a_call_after_an_if_reading_only_a_does_not_wait_for_b(tmp_path):
    definition = compiled(tmp_path, IF_A_B)
    assert waits_for(definition, "call A", "call C")
    assert not waits_for(definition, "call B", "call C")


@pytest.mark.parametrize("body", [NESTED_A_B, IF_IN_SCATTER_A_B], ids=["scatter", "if"])
def test_independent_calls_of_a_nested_section_are_split_at_every_level(tmp_path, body):
    definition = compiled(tmp_path, body)
    assert waits_for(definition, "call A", "call C")
    assert not waits_for(definition, "call B", "call C")


def test_a_call_reading_a_declaration_of_a_scatter_waits_only_for_what_it_reads(tmp_path):
    """`d` reads X only: C needs X, not the shards of B that sit beside `d` in the body."""
    definition = compiled(tmp_path, DECL_READS_X)
    assert waits_for(definition, "call X", "call C")
    assert not waits_for(definition, "call B", "call C")


def test_the_parts_of_a_split_scatter_evaluate_the_same_scatter_node(tmp_path):
    """Both Maps read the same collection, stored once under the scatter's own node id, so the
    run folder (call-A/shard-N, call-B/shard-N) is what it was."""
    definition = compiled(tmp_path, SCATTER_A_B)
    found, graphs = places(definition)
    evals = [
        graphs[path[-1][0]]["States"][name]["Parameters"]["Payload"]["node"]
        for name, path in found.items()
        if name.startswith("scatter ")
        and ":" not in name
        and graphs[path[-1][0]]["States"][name]["Type"] == "Task"
    ]
    assert len(evals) == 2 and len(set(evals)) == 1, evals


def test_a_scatter_whose_body_is_connected_stays_one_map(tmp_path):
    path = ROOT / "sample_wdl" / "scatter_gather" / "scatter_gather.wdl"
    definition = compile_workflow(str(path)).definition
    maps = [name for name, s in definition["States"].items() if s["Type"] == "Map"]
    assert maps == ["scatter n in numbers: shards"]
    assert waits_for(definition, state_named(definition, "call square"), "call sum")


def test_a_call_reading_a_but_not_b_after_a_then_b_waits_for_a_s_map_only(tmp_path):
    """Chained fission: A's shards run in one Map, B's (reading A) in the next, and C starts
    once A's Map is done, while B's shards run."""
    definition = compiled(tmp_path, CHAIN_A_B)
    assert waits_for(definition, "call A", "call B")
    assert waits_for(definition, "call A", "call C")
    assert not waits_for(definition, "call B", "call C")


def test_a_scatter_pipeline_whose_later_readers_read_the_end_stays_one_map(tmp_path):
    """Workflow outputs are read at the end: reading A there splits nothing (A then B in each
    shard, no barrier between them)."""
    definition = compiled(tmp_path, PIPELINE)
    maps = [name for name, s in definition["States"].items() if s["Type"] == "Map"]
    assert len(maps) == 1, maps


def test_a_body_call_reading_no_outside_call_does_not_wait_for_one_beside_it_that_does(tmp_path):
    """B reads nothing outside the scatter: it starts at once, while A waits for X."""
    definition = compiled(tmp_path, BODY_READS_X)
    assert waits_for(definition, "call X", "call A")
    assert not waits_for(definition, "call X", "call B")
    assert waits_for(definition, "call A", "call C")
    assert waits_for(definition, "call B", "call C")


def test_body_calls_wait_only_for_the_body_calls_and_outside_calls_they_read(tmp_path):
    """C reads A and X, B reads A: B waits neither for X nor for C, C not for B."""
    definition = compiled(tmp_path, BODY_SIBLINGS)
    assert not waits_for(definition, "call X", "call B")
    assert not waits_for(definition, "call B", "call C")
    assert not waits_for(definition, "call C", "call B")
    assert waits_for(definition, "call A", "call B")
    assert waits_for(definition, "call X", "call C")
