"""A scatter compiled as several pieces (fission) keeps its concurrency cap as a whole.

`--max-concurrency N` and the nested-scatter ceiling cap the shards of a WDL scatter in flight
at once (per copy). Since fission, one scatter may run as sibling Maps over the same collection
(compiler/fission.py); pieces the schedule may run at the same time (branches of one Parallel,
lanes) share the cap, so that the shards of the scatter in flight at once stay within it; pieces
that run one after the other each keep it (compiler/concurrency.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wdl2sfn.compiler import CompiledWorkflow, compile_document, ir
from wdl2sfn.compiler.report import human_report
from wdl2sfn.wdl import load

from .test_fission import CHAIN_A_B, NESTED_A_B, SCATTER_A_B, TASK

#: the N shape: C reads both pieces, D only A, E only B (lanes with exact joins): A and B
#: may run at once, C never overlaps either
N_SHAPE = """
  scatter (i in [1, 2, 3]) {
    call t as A { input: i = i }
    call t as B { input: i = i }
    call t as C { input: x = [A.y, B.y] }
  }
  call t as D { input: x = A.y }
  call t as E { input: x = B.y }
  call t as F { input: x = C.y }"""

#: an if around the scatter: both cut, an if piece holding each scatter piece
IF_AROUND_A_B = """
  if (true) {
    scatter (i in [1, 2, 3]) {
      call t as A { input: i = i }
      call t as B { input: i = i }
    }
  }
  call t as C { input: x = select_first([A.y]) }
  call t as D { input: x = select_first([B.y]) }"""


def compiled(tmp_path: Path, body: str, **options: Any) -> CompiledWorkflow:
    path = tmp_path / "w.wdl"
    path.write_text(f"version 1.1\nworkflow w {{{body}\n}}\n{TASK}")
    return compile_document(load(str(path)), ir.Options(**options))


def in_flight(graph: dict[str, Any]) -> int:
    """The most shards a state graph runs at once: the widest of its states, one after the
    other; a Parallel runs its branches at once (their sum), a Map's copies multiply."""
    return max((_state_shards(s) for s in graph["States"].values()), default=0)


def _state_shards(state: dict[str, Any]) -> int:
    if state["Type"] == "Parallel":
        return sum(in_flight(branch) for branch in state["Branches"])
    if state["Type"] == "Map":
        return state["MaxConcurrency"] * max(1, in_flight(state["ItemProcessor"]))
    return 0


def scatter_maps(graph: dict[str, Any]) -> dict[str, int]:
    """Per Distributed Map (a scatter piece), its shards in flight per copy."""
    found: dict[str, int] = {}
    for name, state in graph["States"].items():
        for branch in state.get("Branches", []):
            found.update(scatter_maps(branch))
        if state["Type"] == "Map":
            inner = scatter_maps(state["ItemProcessor"])
            batch = [s for s in state["ItemProcessor"]["States"].values() if s["Type"] == "Map"]
            per_child = batch[0]["MaxConcurrency"] if "ItemBatcher" in state else 1
            found[name] = state["MaxConcurrency"] * per_child
            found.update({k: v for k, v in inner.items() if "ItemBatcher" not in state})
    return found


def test_two_pieces_of_one_scatter_side_by_side_share_max_concurrency(tmp_path: Path) -> None:
    definition = compiled(tmp_path, SCATTER_A_B, max_concurrency=10).definition
    assert len(scatter_maps(definition)) == 2
    assert in_flight(definition) <= 10


def test_pieces_side_by_side_share_the_default_cap_too(tmp_path: Path) -> None:
    """800 shards per scatter by default keep its prepare/collect under Lambda's 1,000."""
    assert in_flight(compiled(tmp_path, SCATTER_A_B).definition) <= 800


def test_each_piece_side_by_side_still_runs_shards_at_once(tmp_path: Path) -> None:
    assert sorted(scatter_maps(compiled(tmp_path, SCATTER_A_B, max_concurrency=10).definition)
                  .values()) == [5, 5]  # fmt: skip


def test_pieces_one_after_the_other_each_keep_the_whole_cap(tmp_path: Path) -> None:
    """Chained fission: B's Map starts once A's is done, so each runs 10 at once."""
    maps = scatter_maps(compiled(tmp_path, CHAIN_A_B, max_concurrency=10).definition)
    assert sorted(maps.values()) == [10, 10], maps


def test_a_piece_in_a_lane_that_waits_for_the_others_keeps_the_whole_cap(tmp_path: Path) -> None:
    """C's Map waits (lane order, exact join) for A's and B's: it overlaps neither."""
    maps = scatter_maps(compiled(tmp_path, N_SHAPE, max_concurrency=10).definition)
    assert sorted(maps.values()) == [5, 5, 10], maps


def test_the_inner_pieces_of_one_outer_copy_share_the_cap(tmp_path: Path) -> None:
    """Nested: the outer pieces run side by side, and so do the inner scatter's pieces of one
    outer shard (one in each outer piece)."""
    maps = scatter_maps(compiled(tmp_path, NESTED_A_B, max_concurrency=10).definition)
    assert sorted(maps.values()) == [5, 5, 5, 5], maps


def test_pieces_inside_pieces_of_an_if_share_the_cap(tmp_path: Path) -> None:
    maps = scatter_maps(compiled(tmp_path, IF_AROUND_A_B, max_concurrency=10).definition)
    assert sorted(maps.values()) == [5, 5], maps


def test_the_ceiling_holds_for_a_nest_split_into_pieces(tmp_path: Path) -> None:
    nest = compiled(tmp_path, NESTED_A_B)
    assert in_flight(nest.definition) <= 1000
    assert in_flight(compiled(tmp_path, NESTED_A_B, concurrency_ceiling=64).definition) <= 64


def test_the_report_names_the_shared_caps(tmp_path: Path) -> None:
    report = compiled(tmp_path, SCATTER_A_B, max_concurrency=10).report
    shared = report["concurrency"]["shared"]
    assert sorted((s["scatter"], s["at_once"], s["max_concurrency"]) for s in shared) == [
        ("scatter i in [1, 2, 3] (A)", 2, 5),
        ("scatter i in [1, 2, 3] (B)", 2, 5),
    ]
    assert all(s["without_sharing"] == 10 for s in shared)
    assert (
        "scatter i in [1, 2, 3] (A) and scatter i in [1, 2, 3] (B) (w.wdl:3): 5 at once per copy,"
        " 2 pieces side by side (was 10)"
    ) in human_report(report)


def test_a_scatter_in_one_piece_has_no_shared_cap(tmp_path: Path) -> None:
    report = compiled(tmp_path, CHAIN_A_B, max_concurrency=10).report
    assert report["concurrency"]["shared"] == []
