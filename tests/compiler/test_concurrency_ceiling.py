"""Nested scatters multiply concurrency (issue 20 item 14): each Map's MaxConcurrency applies to
each running copy of it, so an outer scatter of 800 children, each running an inner scatter of
800, has 640,000 shards in flight, each invoking prepare and collect (Lambda) and submitting a
Batch job. The compiler caps the product of nested MaxConcurrency (Distributed and inline) at a
ceiling, 1,000 by default, and says so in `compile --report`.

AWS Lambda developer guide, "Lambda quotas": concurrent executions, "1,000" by default per
Region (the account's pool every function shares). AWS Batch user guide, "AWS Batch service
quotas": SubmitJob is rate-limited per account (docs/limits.md quotes both).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from wdl2sfn.compiler import compile_document, ir
from wdl2sfn.wdl import load

from ..conftest import ROOT

NESTED3 = ROOT / "tests" / "fixtures" / "nested3.wdl"


def _compile(**options: Any) -> Any:
    return compile_document(load(str(NESTED3)), ir.Options(**options))


def _paths(states: dict[str, Any], product: int = 1) -> list[int]:
    """The product of MaxConcurrency along every path of nested Maps (0 counts as unbounded)."""
    found = [product]
    for state in states.values():
        inner = product
        if state.get("Type") == "Map":
            inner = product * (state.get("MaxConcurrency") or 10**9)
            found.append(inner)
        for branch in state.get("Branches", []):
            found += _paths(branch["States"], inner)
        if "ItemProcessor" in state:
            found += _paths(state["ItemProcessor"]["States"], inner)
    return found


def _in_flight(compiled: Any) -> int:
    return max(_paths(compiled.definition["States"]))


def test_three_nested_scatters_keep_at_most_1000_shards_in_flight() -> None:
    assert _in_flight(_compile()) <= 1000


def test_the_ceiling_is_an_option() -> None:
    assert _in_flight(_compile(concurrency_ceiling=64)) <= 64


def test_the_cap_still_runs_shards_of_every_level_at_once() -> None:
    """Shared out across the levels, not all given to the outer scatter: each scatter keeps at
    least 2 shards in flight per copy under a ceiling of 1,000."""
    levels = _scatter_levels(_compile().definition["States"])
    assert len(levels) == 3 and min(levels) >= 2, levels


def _scatter_levels(states: dict[str, Any]) -> list[int]:
    """Per Distributed Map (a scatter), outer first: its shards in flight per copy (its
    MaxConcurrency, times its batch's inline Map's when shards are batched)."""
    found: list[int] = []
    for state in _all_states(states):
        processor = state.get("ItemProcessor", {})
        if processor.get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED":
            continue
        inline = [s for s in processor["States"].values() if s.get("Type") == "Map"]
        per_child = inline[0]["MaxConcurrency"] if "ItemBatcher" in state and inline else 1
        found.append(state["MaxConcurrency"] * per_child)
    return found


def test_a_scatter_that_fits_under_the_ceiling_is_left_as_it_was() -> None:
    flat = compile_document(load(str(ROOT / "sample_wdl" / "wide_scatter" / "wide_scatter.wdl")),
                            ir.Options())  # fmt: skip
    assert _in_flight(flat) == 800


def test_compile_report_names_the_capped_scatters() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", "compile", str(NESTED3), "--report",
         "--concurrency-ceiling", "500", "-o", "/dev/null"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stderr.splitlines() if x.startswith("concurrency:"))
    assert "500" in line and "nested" in line
    assert "scatter i in range(a)" in out.stderr


def test_a_ceiling_below_one_is_refused_naming_the_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", "compile", str(NESTED3),
         "--concurrency-ceiling", "0", "-o", "/dev/null"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 2 and "--concurrency-ceiling 0" in out.stderr, out.stderr


def _all_states(states: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for state in states.values():
        found.append(state)
        for branch in state.get("Branches", []):
            found += _all_states(branch["States"])
        if "ItemProcessor" in state:
            found += _all_states(state["ItemProcessor"]["States"])
    return found
