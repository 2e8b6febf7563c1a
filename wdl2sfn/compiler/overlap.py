"""Which pieces of one scatter may run at the same time (concurrency.py shares their cap).

Fission (fission.py) may compile one WDL scatter as several sibling Maps over the same
collection, one per piece of its body, all with the scatter's ref. A cap on the scatter's shards
in flight (``--max-concurrency``, the nested-scatter ceiling) set on each Map would be multiplied
by the pieces the scheduler runs at once, so each piece gets a share: its cap divided by the most
pieces of its scatter that may be running while it runs, itself included (`at_once`). Within any
set of pieces running together, each piece's count is at least the size of the set, so the
shares of the set add up to the cap at most; a piece that never overlaps another keeps it all.

When may two units run at once? The plan orders them when a Seq holds them in different steps,
or one lane holds them (a lane runs its items one after the other), or an exact join does: an
item waits for the items named in ``wait_for`` and, through them, for everything before those.
Otherwise (branches of a Par, items of different lanes not ordered by joins) they may overlap.
Scatter and if bodies are walked too, per copy: the inner scatter's pieces in two outer pieces
running side by side overlap within one outer shard, whose copy they both belong to.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from . import ir

Widths = Counter[str]  # scatter ref -> the most of its pieces that may run at once


def at_once(step: ir.Step) -> dict[int, int]:
    """For every scatter piece under `step` (by ``id``), how many pieces of its scatter may run
    at once with it, itself included (1: it never overlaps another piece)."""
    walker = _Walker()
    walker.walk(step, Counter())
    return walker.found


@dataclass
class _Walker:
    found: dict[int, int] = field(default_factory=dict)
    widths: dict[int, Widths] = field(default_factory=dict)

    def walk(self, step: ir.Step, beside: Widths) -> None:
        """Record the pieces under `step`, given the pieces that may run beside all of it."""
        if isinstance(step, ir.ScatterUnit):
            self.found[id(step)] = 1 + beside[step.ref]
        if isinstance(step, ir.ScatterUnit | ir.IfUnit | ir.PartUnit):
            self.walk(step.body, beside)
        elif isinstance(step, ir.Seq):
            for s in step.steps:
                self.walk(s, beside)
        elif isinstance(step, ir.Lane):
            for item in step.items:
                self.walk(item.unit, beside)
        elif isinstance(step, ir.Par) and _lanes(step):
            self._walk_lanes(_lanes(step), beside)
        elif isinstance(step, ir.Par):
            widths = [self.width(b) for b in step.branches]
            total = sum(widths, Counter())
            for branch, own in zip(step.branches, widths, strict=True):
                if own:
                    self.walk(branch, beside + (total - own))

    def _walk_lanes(self, lanes: list[ir.Lane], beside: Widths) -> None:
        """Each item beside, from every other lane, its widest item it is not ordered with."""
        items = [(k, item) for k, lane in enumerate(lanes) for item in lane.items]
        busy = [i for i, (_, item) in enumerate(items) if self.width(item.unit)]
        if len({items[i][0] for i in busy}) < 2:
            for i in busy:
                self.walk(items[i][1].unit, beside)
            return
        before = _before(lanes)
        for i in busy:
            lane, item = items[i]
            widest: dict[int, Widths] = {}
            for j in busy:
                other = items[j][0]
                if other != lane and not (before[i] >> j & 1 or before[j] >> i & 1):
                    widest[other] = widest.get(other, Counter()) | self.width(items[j][1].unit)
            self.walk(item.unit, beside + sum(widest.values(), Counter()))

    def width(self, step: ir.Step) -> Widths:
        """The most pieces of each scatter under `step` that may run at once (lanes counted as
        if no join ordered them: never fewer than may really run)."""
        key = id(step)
        if key not in self.widths:
            self.widths[key] = self._width(step)
        return self.widths[key]

    def _width(self, step: ir.Step) -> Widths:
        if isinstance(step, ir.ScatterUnit):
            return Counter({step.ref: 1}) + self.width(step.body)
        if isinstance(step, ir.IfUnit | ir.PartUnit):
            return self.width(step.body)
        found: Widths = Counter()
        if isinstance(step, ir.Seq):
            for s in step.steps:
                found |= self.width(s)
        elif isinstance(step, ir.Lane):
            for item in step.items:
                found |= self.width(item.unit)
        elif isinstance(step, ir.Par):
            for branch in step.branches:
                found += self.width(branch)
        return found


def _lanes(par: ir.Par) -> list[ir.Lane]:
    """The lanes of a non-series-parallel group (a Par of Lanes), else []."""
    lanes = [b for b in par.branches if isinstance(b, ir.Lane)]
    return lanes if len(lanes) == len(par.branches) else []


def _before(lanes: list[ir.Lane]) -> list[int]:
    """Per item (lanes in order, items in lane order), the bitset of items that are done before
    it starts: the items before it in its lane and, through exact joins, what it waits for and
    everything before those (an explicit stack: a lane may hold thousands of calls)."""
    index: dict[str, int] = {}
    preds: list[list[int]] = []
    for lane in lanes:
        for pos, item in enumerate(lane.items):
            index[item.unit.key] = len(preds)
            preds.append([len(preds) - 1] if pos else [])
    i = 0
    for lane in lanes:
        for item in lane.items:
            preds[i] += [index[ref] for ref in item.wait_for if ref in index]
            i += 1
    done: list[int | None] = [None] * len(preds)
    for start in range(len(preds)):
        todo = [start]
        while todo:
            top = todo[-1]
            if done[top] is not None:
                todo.pop()
                continue
            missing = [p for p in preds[top] if done[p] is None]
            if missing:
                todo += missing
                continue
            bits = 0
            for p in preds[top]:
                bits |= (1 << p) | (done[p] or 0)
            done[top] = bits
            todo.pop()
    return [bits or 0 for bits in done]
