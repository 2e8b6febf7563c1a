"""Keep every definition under Step Functions' 1 MB limit by moving pieces into child machines.

A call costs about 4 KB of ASL (prepare, cached?, run, failed, run on-demand, collect), so a flat
workflow of a few hundred calls outgrows one definition. Pieces of a sequence are grouped into
chunks, and the largest parallel branches or scatter bodies are moved out, each chunk becoming a
child state machine started with `states:startExecution.sync:2` (`PartUnit`). Node references stay
absolute, so the run-time steps do not know the difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..statemachine import asl
from . import ir
from .names import LABEL_MAX, shorten


@dataclass
class Splitter:
    plan: ir.Plan
    budget: int
    parts: dict[str, ir.Plan] = field(default_factory=dict)

    def size(self, step: ir.Step) -> int:
        """Bytes of ASL `step` emits (measured by emitting it alone)."""
        from .emit import Emitter

        g = asl.Graph()
        g.start = Emitter(self.plan).chain(g, step, None)
        return len(json.dumps(g.to_json(), separators=(",", ":")))

    def fit(self, step: ir.Step) -> ir.Step:
        if step is None or self.size(step) <= self.budget:
            return step
        if isinstance(step, ir.Seq):
            return self._fit_sequence(step)
        if isinstance(step, ir.Par):
            return self._fit_parallel(step)
        if isinstance(step, ir.Lane):
            return self._fit_lane(step)
        if isinstance(step, ir.ScatterUnit | ir.IfUnit):
            step.body = self.part(step.body)
            return step
        return step

    def _fit_parallel(self, par: ir.Par) -> ir.Step:
        """Move the largest branches out until the Parallel state fits."""
        branches = list(par.branches)
        sizes = [self.size(b) for b in branches]
        for i in sorted(range(len(branches)), key=lambda i: -sizes[i]):
            if sum(sizes) <= self.budget:
                break
            branches[i] = self.part(branches[i])
            sizes[i] = self.size(branches[i])
        return ir.Par(branches)

    def _fit_sequence(self, seq: ir.Seq) -> ir.Step:
        chunks: list[list[ir.Step]] = [[]]
        used = 0
        for s in seq.steps:
            s = self.fit(s)
            b = self.size(s)
            if chunks[-1] and used + b > self.budget * 0.9:
                chunks.append([])
                used = 0
            chunks[-1].append(s)
            used += b
        return ir.Seq([self.part(ir.Seq(c)) if len(c) > 1 else self.part(c[0]) for c in chunks])

    def _fit_lane(self, lane: ir.Lane) -> ir.Step:
        """A long lane: consecutive runs of its items (joins and releases kept) become parts."""
        chunks: list[list[ir.LaneItem]] = [[]]
        used = 0
        for item in lane.items:
            b = self.size(ir.Lane([item]))
            if chunks[-1] and used + b > self.budget * 0.9:
                chunks.append([])
                used = 0
            chunks[-1].append(item)
            used += b
        return ir.Seq([self.part(ir.Lane(c)) for c in chunks])

    def part(self, step: ir.Step) -> ir.PartUnit:
        """Move `step` (fitted first, into parts of its own) into a new child machine."""
        number = len(self.parts) + 1
        name = f"{self.plan.name}_part{number}"
        child = ir.Plan(
            name=name, root=None, options=self.plan.options, scoped=self.plan.scoped, kind="part"
        )
        self.parts[name] = child
        fit_definition(child, step, self.budget)
        label = shorten(f"part {number} of {self.plan.name}", LABEL_MAX)
        return ir.PartUnit(label=label, machine=name, body=child.root)


def fit_definition(plan: ir.Plan, root: ir.Step | None = None, budget: int | None = None) -> None:
    """Split `plan` (in place) until its definition fits; its parts join plan.children (each
    part fitted the same way, so children may have children: deploy them depth first)."""
    splitter = Splitter(plan, budget or plan.options.max_definition_bytes)
    plan.root = splitter.fit(plan.root if root is None else root)
    plan.children.update(splitter.parts)
