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

A scatter split into pieces by fission (sibling Maps with one ref) is capped as a whole: the
pieces that may run at the same time (overlap.py) share its cap, ``--max-concurrency`` (or the
default) as well as the ceiling's budget, each ``cap // k`` for k pieces at once; pieces that run
one after the other each keep the whole cap.
"""

from __future__ import annotations

from typing import Any

from . import ir
from .emit import DEFAULT_SCATTER_CONCURRENCY
from .overlap import at_once


def cap_nested_scatters(plan: ir.Plan) -> list[dict[str, Any]]:
    """Share each scatter's cap among its pieces that run at once, then set ``max_jobs`` on the
    scatters of nests over the ceiling; one note per capped scatter (also kept on
    ``plan.concurrency_caps`` for the report, the shares on ``plan.concurrency_shares``)."""
    usual = _per_scatter(plan.options)
    plan.concurrency_shares = _share_pieces(plan.root, usual)
    notes: list[dict[str, Any]] = []
    _cap_region(plan.root, plan.options.concurrency_ceiling, usual, notes)
    plan.concurrency_caps = notes
    for child in plan.children.values():
        cap_nested_scatters(child)
    return notes


def _per_scatter(options: ir.Options) -> int:
    return options.max_concurrency or DEFAULT_SCATTER_CONCURRENCY


def _share_pieces(root: ir.Step, usual: int) -> list[dict[str, Any]]:
    """The per-scatter cap (``--max-concurrency``, else the default) shared evenly by the pieces
    of a scatter that may run at once (overlap.py): each gets ``usual // k`` for k of them at
    once, so any set running together stays within ``usual``; one note per piece sharing."""
    counts = at_once(root)
    notes: list[dict[str, Any]] = []
    for unit in sorted(_all_scatters(root), key=lambda u: (u.file, u.line, u.label)):
        k = counts[id(unit)]
        if k > 1:
            unit.max_jobs = max(1, usual // k)
            notes.append(
                {
                    "scatter": unit.label,
                    "where": f"{unit.file}:{unit.line}",
                    "at_once": k,
                    "max_concurrency": unit.max_jobs,
                    "without_sharing": usual,
                }
            )
    return notes


def _cap_region(step: ir.Step, budget: int, usual: int, notes: list[Any]) -> None:
    """The outermost scatters of ``step`` under ``budget`` shards in flight (per copy of what
    holds ``step``), each of a scatter's pieces with its share of it (k at once: budget // k)."""
    counts = at_once(step)
    for unit in _outermost_scatters(step):
        _share(unit, max(1, budget // counts[id(unit)]), usual, notes)


def _share(unit: ir.ScatterUnit, budget: int, usual: int, notes: list[Any]) -> None:
    """Give ``unit`` its share of ``budget`` and its inner scatters the rest, per copy."""
    if _demand(unit, usual) <= budget:
        return  # the whole nest fits: as compiled before
    levels = _levels(unit)
    cap = unit.max_jobs or usual
    share = max(1, min(cap, _root(budget, levels)))
    unit.max_jobs = share
    notes.append(
        {
            "scatter": unit.label,
            "where": f"{unit.file}:{unit.line}",
            "levels": levels,
            "max_concurrency": share,
            "without_ceiling": cap,
        }
    )
    _cap_region(unit.body, max(1, budget // share), usual, notes)


def _demand(unit: ir.ScatterUnit, usual: int) -> int:
    """Shards in flight of the nest below ``unit`` per copy, as compiled so far: its cap times
    the widest inner scatter's, counted once per piece of it that may run at once (the bound
    `_cap_region` keeps: within budget // k each, k pieces at once stay within budget)."""
    counts = at_once(unit.body)
    inner = [counts[id(s)] * _demand(s, usual) for s in _outermost_scatters(unit.body)]
    return (unit.max_jobs or usual) * max(inner, default=1)


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


def _all_scatters(step: ir.Step) -> list[ir.ScatterUnit]:
    """Every scatter of ``step``, inner ones too, outer first."""
    found = _outermost_scatters(step)
    for unit in found:  # grows while read: breadth first
        found += _outermost_scatters(unit.body)
    return found
