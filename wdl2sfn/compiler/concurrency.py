"""How many shards of nested scatters run at once, capped at a ceiling.

Every Map's MaxConcurrency applies to each running copy of the Map, so nested scatters multiply:
an outer scatter of 800 children each running an inner scatter of 800 has 640,000 shards in
flight, each invoking prepare and collect (Lambda: 1,000 concurrent executions per Region by
default, shared by every function of the account) and submitting a Batch job (SubmitJob is
rate-limited per account). When the product of a scatter nest's MaxConcurrency, as the compiler
would set it, exceeds ``Options.concurrency_ceiling``, the ceiling is shared out evenly across the
nest's levels (the widths are only known at run time, so no level is starved); the emitter reads
each scatter's share from ``ScatterUnit.max_jobs``. Scatters within the ceiling are left as they
were. Subworkflow machines (``--subworkflows machine``) are capped on their own.
"""

from __future__ import annotations

from typing import Any

from . import ir
from .emit import DEFAULT_SCATTER_CONCURRENCY


def cap_nested_scatters(plan: ir.Plan) -> list[dict[str, Any]]:
    """Set ``max_jobs`` on the scatters of nests over the ceiling; one note per capped scatter
    (also kept on ``plan.concurrency_caps`` for the report)."""
    notes: list[dict[str, Any]] = []
    for unit in _outermost_scatters(plan.root):
        _share(unit, plan.options, plan.options.concurrency_ceiling, notes)
    plan.concurrency_caps = notes
    for child in plan.children.values():
        cap_nested_scatters(child)
    return notes


def _per_scatter(options: ir.Options) -> int:
    return options.max_concurrency or DEFAULT_SCATTER_CONCURRENCY


def _share(unit: ir.ScatterUnit, options: ir.Options, budget: int, notes: list[Any]) -> None:
    """Give ``unit`` its share of ``budget`` and its inner scatters the rest, per copy."""
    levels = _levels(unit)
    usual = _per_scatter(options)
    if usual**levels <= budget:
        return  # the whole nest fits: as compiled before
    share = max(1, min(usual, _root(budget, levels)))
    unit.max_jobs = share
    notes.append(
        {
            "scatter": unit.label,
            "where": f"{unit.file}:{unit.line}",
            "levels": levels,
            "max_concurrency": share,
            "without_ceiling": usual,
        }
    )
    for inner in _outermost_scatters(unit.body):
        _share(inner, options, max(1, budget // share), notes)


def _root(value: int, k: int) -> int:
    """The integer k-th root of ``value`` (largest r with r**k <= value)."""
    r = max(1, int(round(value ** (1 / k))))
    while r > 1 and r**k > value:
        r -= 1
    while (r + 1) ** k <= value:
        r += 1
    return r


def _levels(unit: ir.ScatterUnit) -> int:
    """Scatter levels of the nest below ``unit``, itself included."""
    return 1 + max((_levels(s) for s in _outermost_scatters(unit.body)), default=0)


def _outermost_scatters(step: ir.Step) -> list[ir.ScatterUnit]:
    """Scatters of ``step`` not inside another of its scatters (through ifs, parts, lanes)."""
    found: list[ir.ScatterUnit] = []
    todo: list[Any] = [step]
    while todo:
        s = todo.pop()
        if isinstance(s, ir.ScatterUnit):
            found.append(s)
        elif isinstance(s, ir.Seq):
            todo.extend(s.steps)
        elif isinstance(s, ir.Par):
            todo.extend(s.branches)
        elif isinstance(s, ir.Lane):
            todo.extend(item.unit for item in s.items)
        elif isinstance(s, ir.IfUnit | ir.PartUnit):
            todo.append(s.body)
    return found
