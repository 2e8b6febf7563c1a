"""Turn a dependency DAG into nested sequences and parallel groups (the shape ASL can express).

Step Functions has no "start B when A and C are done" primitive: a state machine is built from
chains (Next) and Parallel states. A series-parallel DAG maps onto them exactly, so no call ever
waits for one it does not depend on. Other DAGs (the "N" shape: a->c, b->c, b->d) do not: where
the nesting finds no series cut, the group becomes `Lanes`, chains run side by side in which an
item may first *wait for* items of other lanes (an exact join, released by those items), so every
item still starts as soon as everything it depends on is done. With `exact=False` the group is
cut instead where the fewest (earlier, later) pairs become new waits, and each one is reported.

Sets of nodes are Python ints used as bitsets, so closures of a few thousand calls stay cheap.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T", bound=Hashable)

Tree = Any  # a leaf item, a Seq or a Par


@dataclass
class Seq:
    steps: list[Tree]


@dataclass
class Par:
    branches: list[Tree]


@dataclass
class LaneItem:
    item: Any
    wait_for: list[Any]  # items of other lanes it starts after (not implied by its lane)
    waiters: list[Any]  # items of other lanes that wait for it


@dataclass
class Lanes:
    lanes: list[list[LaneItem]]


@dataclass
class Schedule(Generic[T]):
    tree: Tree | None
    added_waits: list[tuple[T, T]] = field(default_factory=list)


def schedule(items: Sequence[T], deps: Mapping[T, set[T]], exact: bool = True) -> Schedule[T]:
    """Nest `items` (listed in a topological order) into Seq/Par/Lanes honouring every
    dependency; with exact=False, into Seq/Par only, adding (and reporting) waits."""
    if not items:
        return Schedule(None)
    solver = _Solver(list(items), deps, exact)
    tree = solver.solve((1 << len(items)) - 1)
    waits = [(items[a], items[b]) for a, b in solver.added]
    return Schedule(tree, waits)


class _Solver(Generic[T]):
    def __init__(self, items: list[T], deps: Mapping[T, set[T]], exact: bool = True) -> None:
        self.items = items
        self.exact = exact
        index = {item: i for i, item in enumerate(items)}
        n = len(items)
        self.anc = [0] * n
        self.direct = [0] * n
        for i, item in enumerate(items):
            bits = 0
            for d in deps.get(item, ()):
                j = index[d]
                assert j < i, f"items are not in topological order: {d!r} after {item!r}"
                bits |= (1 << j) | self.anc[j]
                self.direct[i] |= 1 << j
            self.anc[i] = bits
        children: list[list[int]] = [[] for _ in range(n)]
        for i in range(n):
            for j in _bits(self.direct[i]):
                children[j].append(i)
        self.desc = [0] * n  # from direct children, not by scattering every ancestor (n^2)
        for j in range(n - 1, -1, -1):
            for i in children[j]:
                self.desc[j] |= (1 << i) | self.desc[i]
        self.added: list[tuple[int, int]] = []

    def solve(self, root: int) -> Tree:
        """The tree of `root`, built bottom-up from an explicit stack: a chain of 10,000 calls
        nests 10,000 deep here, far past Python's recursion limit."""
        built: dict[int, Tree] = {}
        pending: dict[int, tuple[str, list[int]]] = {}
        todo: list[tuple[int, bool]] = [(root, False)]
        while todo:
            s, expanded = todo.pop()
            if expanded:
                kind, parts = pending.pop(s)
                trees = [built.pop(p) for p in parts]
                built[s] = Par(trees) if kind == "par" else _seq(trees)
                continue
            done, kind, parts = self._split(s)
            if done is not None:
                built[s] = done
                continue
            pending[s] = (kind, parts)
            todo.append((s, True))
            todo.extend((p, False) for p in reversed(parts))
        return built[root]

    def _split(self, s: int) -> tuple[Tree | None, str, list[int]]:
        """One step of the nesting: a finished tree (a leaf, or lanes), or how `s` divides
        ("par" into independent groups, "seq" into blocks that run one after another)."""
        if s & (s - 1) == 0:
            return self.items[s.bit_length() - 1], "", []
        comps = self._components(s)
        if len(comps) > 1:
            return None, "par", comps
        blocks = self._series_blocks(s)
        if len(blocks) > 1:
            return None, "seq", blocks
        if self.exact:
            return self._lanes(s), "", []
        head = self._forced_head(s)
        return None, "seq", [head, s & ~head]

    def _lanes(self, s: int) -> Lanes:
        """A group with no series cut as lanes with exact joins (deps outside `s` are done)."""
        lane_of: dict[int, int] = {}
        tails: dict[int, int] = {}  # lane -> its last item
        lanes: list[list[int]] = []
        waits: dict[int, list[int]] = {}
        children = [0] * len(self.items)
        for i in _bits(s):
            for d in _bits(self.direct[i] & s):
                children[d] |= 1 << i
        placed = 0
        for i in _bits(s):  # ascending = topological
            placed |= 1 << i
            # continue the lane of a dependency: fewest joins, then the one fewest others need
            best: tuple[int, int, int, int] | None = None
            for p in _bits(self.direct[i] & s):
                if tails.get(lane_of[p]) == p:
                    need = self._wait_set(i, s, p)
                    others = (children[p] & ~placed).bit_count()
                    key = (len(need), others, -p, lane_of[p])
                    best = key if best is None or key < best else best
            if best is None:
                lane_of[i] = len(lanes)
                lanes.append([i])
                waits[i] = self._wait_set(i, s, None)
            else:
                lane = best[3]
                lane_of[i] = lane
                lanes[lane].append(i)
                waits[i] = self._wait_set(i, s, tails[lane])
            tails[lane_of[i]] = i
        waiters: dict[int, list[int]] = {i: [] for i in _bits(s)}
        for i, ds in waits.items():
            for d in ds:
                waiters[d].append(i)
        return Lanes(
            [
                [
                    LaneItem(
                        self.items[i],
                        [self.items[d] for d in waits[i]],
                        [self.items[w] for w in waiters[i]],
                    )
                    for i in lane
                ]
                for lane in lanes
            ]
        )

    def _wait_set(self, i: int, s: int, pred: int | None) -> list[int]:
        """Direct deps of `i` in `s` not implied by `pred` (its lane predecessor) or by each
        other: what an exact join must wait for."""
        covered = 0 if pred is None else (1 << pred) | self.anc[pred]
        need = self.direct[i] & s & ~covered
        for d in _bits(need):
            need &= ~self.anc[d]
        return list(_bits(need))

    def _components(self, s: int) -> list[int]:
        """Groups of `s` linked by any ordering relation (they can run independently)."""
        comps: list[int] = []
        rest = s
        while rest:
            seed = rest & -rest
            comp = seed
            frontier = seed
            while frontier:
                grown = 0
                for i in _bits(frontier):
                    grown |= (self.anc[i] | self.desc[i]) & s
                frontier = grown & ~comp
                comp |= grown
            comps.append(comp)
            rest &= ~comp
        return comps

    def _series_blocks(self, s: int) -> list[int]:
        """`s` cut at every series cut at once: blocks each of whose nodes precedes every node
        of the blocks after it (one block if there is no cut). A series cut is a prefix of the
        topological order that every later node has wholly among its ancestors, so one pass
        from the end finds them all (linear in |s|, where cutting one head at a time is not)."""
        members = list(_bits(s))
        pos = {m: k for k, m in enumerate(members)}
        cuts: list[int] = []
        reach = len(
            members
        )  # min over later nodes of the prefix length wholly among their ancestors
        for k in range(len(members) - 1, 0, -1):
            missing = s & ~self.anc[members[k]]
            reach = min(reach, pos[(missing & -missing).bit_length() - 1])
            if reach >= k:
                cuts.append(k)
        bounds = [0, *reversed(cuts), len(members)]
        blocks: list[int] = []
        for a, b in zip(bounds, bounds[1:], strict=False):
            below = (1 << members[b]) - 1 if b < len(members) else s
            blocks.append(s & below & ~((1 << members[a]) - 1))
        return blocks

    def _forced_head(self, s: int) -> int:
        """For a non-series-parallel group: the level cut adding the fewest waits."""
        level: dict[int, int] = {}
        for i in _bits(s):  # ascending = topological
            preds = [level[j] for j in _bits(self.anc[i] & s)]
            level[i] = 1 + max(preds) if preds else 0
        best: tuple[int, int] | None = None
        for k in range(1, max(level.values()) + 1):
            head = sum(1 << i for i, lv in level.items() if lv < k)
            tail = s & ~head
            cost = sum(_popcount(tail & ~self.desc[i]) for i in _bits(head))
            if best is None or cost < best[0]:
                best = (cost, head)
        assert best is not None
        head = best[1]
        tail = s & ~head
        for i in _bits(head):
            for j in _bits(tail & ~self.desc[i]):
                self.added.append((i, j))
        return head


def _seq(parts: list[Tree]) -> Seq:
    steps: list[Tree] = []
    for part in parts:
        steps.extend(part.steps if isinstance(part, Seq) else [part])
    return Seq(steps)


def _bits(x: int) -> Iterator[int]:
    """Indices of the set bits of `x`, ascending; linear in its width (clearing the low bit
    one at a time copies the whole int each time: quadratic on a 10,000-call region)."""
    if x < 1 << 64:
        while x:
            low = x & -x
            yield low.bit_length() - 1
            x ^= low
        return
    digits = bin(x)[:1:-1]
    i = digits.find("1")
    while i != -1:
        yield i
        i = digits.find("1", i + 1)


def _popcount(x: int) -> int:
    return x.bit_count()
