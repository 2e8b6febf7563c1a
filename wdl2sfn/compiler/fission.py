"""Scatter and `if` fission: a section's body cut into pieces so that no call waits for one it
does not read.

miniwdl runs a call as soon as the values it reads exist, across section boundaries: after
`scatter (s in xs) { call A; call B }`, a call reading only `A` starts when A's shards are done,
whatever B does. A scatter compiled as one Map would make it wait for B's shards too. So the
plan cuts a section's body (1) into its weakly connected parts (value edges between the body's
nodes, nested sections' nodes included), then (2) each part, to a fixpoint, until every node of
a piece reads every call the piece waits for and every reader of a piece reads all of it
(`_by_readers`). Each piece that holds calls is compiled as a unit of its own over the same
collection or condition: sibling Maps (or Choices) that the region scheduler places like any
units, each downstream unit depending only on the pieces it reads.

WDL semantics are kept: a collection or condition is pure, so its eval step runs once per piece
and writes the same stored value (atomically, the first one wins); the run store's node ids and
the run folder (`call-A/shard-N`) do not change, since every piece names the same nodes. Pieces
with no call (declarations only) get no unit at all: they are evaluated lazily, like every
declaration, so what reads them waits only for the calls they read.

A nested section whose expression reads nothing of the enclosing body is cut with it (its body
nodes can fall in different pieces, each piece then holding that section restricted to its own
nodes); one whose expression reads a body node stays with that node. The price of a cut is a
barrier: the shards of a later piece start when every shard of the pieces they read is done
(docs/design.md, "Call-level schedule").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from WDL import Tree

from ..workflow_index import WorkflowIndex, call_path, contains_calls

Restriction = frozenset[str] | None  # the nodes a unit of a section holds (None: all)


@dataclass
class Part:
    """One unit of a section: its scheduling key, the nodes it holds, its label suffix."""

    key: str  # the section's ref when it holds the whole body, else `<ref>@<first call ref>`
    restriction: Restriction
    suffix: str  # "" when it holds every call of the section, else ` (A)` / ` (A +2)`


class Fission:
    """Splits sections into parts; memoised per (section, restriction)."""

    def __init__(
        self,
        index: WorkflowIndex,
        edges: dict[str, list[str]],
        below: Callable[[str], list[str]],
        is_call: Callable[[str], bool],
        chains: dict[str, tuple[str, ...]],
    ) -> None:
        self.index = index
        self.chains = chains  # stateful containers around each node (machine calls included)
        self.edges = edges
        self.below = below  # every node under a section (deeper sections' nodes too), in order
        self.is_call = is_call  # a node that costs states itself (task call, machine subworkflow)
        self.preds: dict[str, set[str]] = defaultdict(set)
        for src, dsts in edges.items():
            for dst in dsts:
                self.preds[dst].add(src)
        self._reader_memo: dict[str, dict[str, set[str]]] = {}
        self._up_memo: dict[str, frozenset[str]] = {}

    def split(self, section: str, restricted: Restriction) -> tuple[list[Part], dict[str, str]]:
        """The parts of `section` (restricted to some of its nodes) holding calls, and for each
        node under it the key of the part holding it (nodes of call-free parts: none)."""
        below = self.below(section)
        atoms = below if restricted is None else [n for n in below if n in restricted]
        groups = self._components(atoms)
        calls_below = [n for n in below if self.is_call(n)]
        with_calls = [
            piece
            for g in groups
            if any(self.is_call(n) for n in g)
            for piece in self._by_readers(section, g)
        ]
        with_calls = [g for g in with_calls if any(self.is_call(n) for n in g)]
        if len(with_calls) == 1 and len(groups) == 1 and len(atoms) == len(below):
            whole = Part(section, None, "")
            return [whole], {n: section for n in atoms}
        inner = set(below)
        parts: list[Part] = []
        owner: dict[str, str] = {}
        for group in with_calls:
            around = {s for n in group for s in self.index[n].section_refs if s in inner}
            calls = [n for n in group if self.is_call(n)]
            key = f"{section}@{calls[0]}"
            more = f" +{len(calls) - 1}" if len(calls) > 1 else ""
            suffix = "" if len(calls) == len(calls_below) else f" ({call_path(calls[0])}{more})"
            parts.append(Part(key, frozenset(set(group) | around), suffix))
            owner.update((n, key) for n in group)
        return parts, owner

    def _by_readers(self, section: str, group: list[str]) -> list[list[str]]:
        """Chained fission: one connected part cut into pieces until no node waits for a call
        it does not read (every call a piece waits for is read by each of its nodes) and no
        reader waits for a node it does not read (each piece is read whole by each of its
        readers: units after the section, through its gathers, and the other pieces). Along a
        value edge a -> b, b reads all a reads and every reader of b reads a, so the pieces
        depend on each other without a cycle: `scatter { A; B(A) }` then `C(A)` is Map A, then
        Map B beside C."""
        outer = [set(referees) for referees in self._readers(section).values()]
        order = {n: i for i, n in enumerate(group)}
        pieces = [group]
        while True:
            piece_of = {n: i for i, piece in enumerate(pieces) for n in piece}
            cut = [
                c for i, piece in enumerate(pieces) for c in self._cut(piece, i, piece_of, outer)
            ]
            if len(cut) == len(pieces):
                return sorted(cut, key=lambda piece: order[piece[0]])
            pieces = cut

    def _cut(
        self, piece: list[str], at: int, piece_of: dict[str, int], outer: list[set[str]]
    ) -> list[list[str]]:
        """One piece cut by, for each node, the calls outside the piece it reads and which
        readers read it (through nodes of the piece)."""
        inner = set(piece)
        outside = frozenset().union(*(self.calls_up(n) for n in piece)) - inner
        direct: dict[object, set[str]] = {k: r & inner for k, r in enumerate(outer)}
        for n, i in piece_of.items():
            if i != at:
                direct.setdefault(("piece", i), set()).update(self.preds[n] & inner)
        marks: dict[str, set[object]] = {n: set() for n in piece}
        for key, reads in direct.items():
            todo = list(reads)
            while todo:
                n = todo.pop()
                if key not in marks[n]:
                    marks[n].add(key)
                    todo += [p for p in self.preds[n] if p in inner]
        cuts: dict[tuple[frozenset[str], frozenset[object]], list[str]] = {}
        for n in piece:
            cuts.setdefault((self.calls_up(n) & outside, frozenset(marks[n])), []).append(n)
        return list(cuts.values())

    def calls_up(self, ref: str) -> frozenset[str]:
        """Every call `ref` reads, directly or through lazy nodes and section expressions (an
        explicit stack: a chain of thousands of declarations is deeper than the recursion
        limit)."""
        todo = [ref]
        while todo:
            top = todo[-1]
            if top in self._up_memo:
                todo.pop()
                continue
            missing = [p for p in self.preds.get(top, ()) if p not in self._up_memo]
            if missing:
                todo.extend(missing)
                continue
            found: set[str] = set()
            for p in self.preds.get(top, ()):
                found |= self._up_memo[p]
                if self.is_call(p):
                    found.add(p)
            self._up_memo[top] = frozenset(found)
            todo.pop()
        return self._up_memo[ref]

    def _readers(self, section: str) -> dict[str, set[str]]:
        """Units after `section` that read its gathers (through lazy nodes): unit -> the body
        nodes whose gathered values it reads. Workflow outputs are read at the very end, by
        nobody that could start earlier, so they count for nothing."""
        if section in self._reader_memo:
            return self._reader_memo[section]
        info = self.index[section]
        node = info.node
        assert isinstance(node, Tree.WorkflowSection)
        found: dict[str, set[str]] = defaultdict(set)
        for gather in node.gathers.values():
            referee = self.index.local_ref(info, gather.referee.workflow_node_id)
            todo, seen = (
                list(self.edges.get(self.index.local_ref(info, gather.workflow_node_id), ())),
                set(),
            )
            while todo:
                n = todo.pop()
                if n in seen:
                    continue
                seen.add(n)
                if self.is_call(n) or self._holds_calls(n):
                    found[n].add(referee)
                else:
                    todo += self.edges.get(n, ())
        self._reader_memo[section] = dict(found)
        return self._reader_memo[section]

    def _holds_calls(self, ref: str) -> bool:
        node = self.index[ref].node
        return isinstance(node, Tree.WorkflowSection) and contains_calls(node)

    def _components(self, atoms: list[str]) -> list[list[str]]:
        """Weakly connected groups of `atoms` (index order), sections whose expression reads no
        atom left out (their edges to their own body are not value edges: their nodes fall in
        the groups of what they read)."""
        atom_set = set(atoms)
        parent = {n: n for n in atoms}

        def find(n: str) -> str:
            while parent[n] != n:
                parent[n] = parent[parent[n]]
                n = parent[n]
            return n

        free_set = {
            n
            for n in atoms
            if isinstance(self.index[n].node, Tree.WorkflowSection)
            and not (self.preds[n] & atom_set)
        }
        for src in atoms:
            if src in free_set:
                continue
            for dst in self.edges.get(src, ()):
                if dst in atom_set and dst not in free_set:
                    parent[find(src)] = find(dst)
            for outer in self.chains[src]:  # a subworkflow run as its own machine is one piece
                if outer in atom_set and outer not in free_set:
                    parent[find(src)] = find(outer)
        groups: dict[str, list[str]] = {}
        for n in atoms:
            if n not in free_set:
                groups.setdefault(find(n), []).append(n)
        return list(groups.values())
