"""Keep every definition under Step Functions' 1 MB limit by moving pieces into sibling machines.

A workflow whose definition would pass the budget is cut into *parts*: pieces of its plan, each
a child state machine started with `states:startExecution.sync:2` (`PartUnit`), all children of
the one machine they were cut from (so nesting is at most two deep, whatever the size). The cut
follows the plan: consecutive steps of a sequence are grouped into parts of at most the budget,
the branches of a Parallel are grouped the same way, a long lane is cut into consecutive runs
(its joins and releases travel with their units), and a scatter or if keeps its state here while
its body is cut. Node references stay absolute, so the run-time steps do not know the difference.

Sizes come from emitting each call once, alone (`Sizer`), and adding up: compile time stays
linear in the number of calls. They are bounds of the *deployed* definition: CloudFormation and
`deploy` replace each `${Placeholder}` by an ARN of up to ~130 characters before Step Functions
measures the 1 MB (`asl.deployed_bytes_bound`). A call is one Task whose waiters ride in its
call machine's input (the call machine itself is the stack's, deployed once).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from . import asl, ir
from .names import LABEL_MAX, shorten

PARALLEL_OVERHEAD = 120  # a Parallel state's own keys
BRANCH_OVERHEAD = 40  # {"StartAt":..,"States":{..}} per branch
JOIN_LINK = 40  # "Next": "<name>" where the emitted join states end the branch instead


def _compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class Sizer:
    """Bytes of ASL a step emits, from each unit emitted once on its own (memoised)."""

    plan: ir.Plan
    memo: dict[int, int] = field(default_factory=dict)

    def emitted(self, step: ir.Step) -> int:
        """Bytes of `step` emitted alone, as deployed (placeholders replaced by ARNs)."""
        from .emit import Emitter

        g = asl.Graph()
        g.start = Emitter(self.plan).chain(g, step, None)
        return asl.deployed_bytes_bound(g.to_json())

    def size(self, step: ir.Step) -> int:
        if step is None:
            return 0
        key = id(step)
        if key not in self.memo:
            self.memo[key] = self._size(step)
        return self.memo[key]

    def _size(self, step: ir.Step) -> int:
        if isinstance(step, ir.Seq):
            return sum(self.size(s) for s in step.steps)
        if isinstance(step, ir.Par):
            branch = BRANCH_OVERHEAD
            return PARALLEL_OVERHEAD + sum(self.size(b) + branch for b in step.branches)
        if isinstance(step, ir.Lane):
            return sum(self.item_size(item) for item in step.items)
        if isinstance(step, ir.ScatterUnit):  # its body is a graph of its own
            shell = self.emitted(dataclasses.replace(step, body=None))
            return shell + self.size(step.body)
        if isinstance(step, ir.IfUnit):
            return self.emitted(dataclasses.replace(step, body=None)) + self.size(step.body)
        return self.emitted(step)

    def item_size(self, item: ir.LaneItem) -> int:
        return self.size(item.unit) + self.join_size(item)

    def join_size(self, item: ir.LaneItem) -> int:
        """Bytes of the item's wait and release states as emitted in this filesystem mode (an
        FSx wait, a runner job with its command line, is larger than the EFS Lambda one)."""
        from .emit import Emitter

        by_call = isinstance(item.unit, ir.CallUnit)
        if not (item.wait_for or item.waiters):
            return 0
        g, emitter, starts = asl.Graph(), Emitter(self.plan), []
        if item.wait_for:
            starts.append(emitter._join(g, item, None))
        if item.waiters and not by_call:
            starts.append(emitter._release(g, item, None))
        size = JOIN_LINK * len(starts)
        if starts:
            g.start = starts[0]
            size += asl.deployed_bytes_bound(g.to_json())
        if item.waiters and by_call:  # the waiters ride in the call machine's input
            size += self._waiters_bytes(item.waiters)
        return size

    def _waiters_bytes(self, waiters: list[str]) -> int:
        """`waiters` in the call machine's input (JSON in both modes)."""
        return _compact({"waiters": waiters}) + 1


@dataclass
class Splitter:
    plan: ir.Plan
    budget: int
    sizer: Sizer
    parts: dict[str, ir.Plan] = field(default_factory=dict)

    def fits(self, step: ir.Step) -> bool:
        return self.sizer.size(step) <= self.budget

    def carve(self, step: ir.Step) -> ir.Step:
        """`step` with its pieces moved into parts, so that what is left here is small."""
        if step is None:
            return None
        if self.fits(step):
            return self.part(step)
        if isinstance(step, ir.Seq):
            return ir.Seq(self._grouped(step.steps, lambda group: ir.Seq(group)))
        if isinstance(step, ir.Par):
            return ir.Par(self._grouped(step.branches, lambda group: ir.Par(group), par=True))
        if isinstance(step, ir.Lane):
            return ir.Seq(self._lane_parts(step))
        if isinstance(step, ir.ScatterUnit | ir.IfUnit):
            step.body = self.carve(step.body)
            return step
        return step  # one call larger than the budget: nothing smaller to move

    def _grouped(self, steps: list[ir.Step], wrap, par: bool = False) -> list[ir.Step]:  # type: ignore[no-untyped-def]
        """Consecutive small steps grouped into parts of at most the budget; big ones carved."""
        out: list[ir.Step] = []
        group: list[ir.Step] = []
        used = 0

        def flush() -> None:
            nonlocal group, used
            if group:
                out.append(self.part(group[0] if len(group) == 1 else wrap(group)))
            group, used = [], 0

        for s in steps:
            size = self.sizer.size(s) + (BRANCH_OVERHEAD if par else 0)
            if size > self.budget:
                flush()
                out.append(self.carve(s))
                continue
            if used + size > self.budget:
                flush()
            group.append(s)
            used += size
        flush()
        return out

    def _lane_parts(self, lane: ir.Lane) -> list[ir.Step]:
        out: list[ir.Step] = []
        chunk: list[ir.LaneItem] = []
        used = 0
        for item in lane.items:
            size = self.sizer.item_size(item)
            if chunk and used + size > self.budget:
                out.append(self.part(ir.Lane(chunk)))
                chunk, used = [], 0
            chunk.append(item)
            used += size
        if chunk:
            out.append(self.part(ir.Lane(chunk)))
        return out

    def part(self, step: ir.Step) -> ir.PartUnit:
        """Move `step` into a new sibling machine."""
        number = len(self.parts) + 1
        name = f"{self.plan.name}_part{number}"
        child = ir.Plan(
            name=name, root=step, options=self.plan.options, scoped=self.plan.scoped, kind="part"
        )
        self.parts[name] = child
        label = shorten(f"part {number} of {self.plan.name}", LABEL_MAX)
        return ir.PartUnit(label=label, machine=name, body=step)


def fit_definition(plan: ir.Plan, budget: int | None = None) -> None:
    """Split `plan` (in place) when its definition would pass the budget; the parts join
    plan.children as siblings (none of them is split again)."""
    limit = budget or plan.options.max_definition_bytes
    sizer = Sizer(plan)
    if sizer.size(plan.root) <= limit:
        return
    splitter = Splitter(plan, limit, sizer)
    plan.root = splitter.carve(plan.root)
    plan.children.update(splitter.parts)
