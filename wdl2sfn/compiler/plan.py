"""miniwdl's typed workflow tree -> the plan (IR).

Steps:
1. index every node (subworkflows inlined) and draw the value-dependency graph;
2. decide which nodes are units, i.e. cost states: task calls, scatters/ifs that hold calls, and
   (in `machine` mode) subworkflow calls; everything else is evaluated lazily at run time;
3. for each region (the workflow body, each stateful section's body) project the graph onto its
   units and nest them into Seq/Par with `schedule`.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from collections.abc import Callable, Iterable

from WDL import Expr, Tree

from ..workflow_index import NodeInfo, WorkflowIndex, call_path, contains_calls, output_node_ids
from . import ir
from .fission import Fission, Part, Restriction
from .names import assign_labels
from .schedule import Lanes as SLanes
from .schedule import Par as SPar
from .schedule import Seq as SSeq
from .schedule import schedule


def build_plan(workflow: Tree.Workflow, options: ir.Options, digest: str = "") -> ir.Plan:
    """Plan a workflow; subworkflows called in `machine` mode get child plans of their own."""
    builder = _PlanBuilder(workflow, options)
    plan = ir.Plan(name=workflow.name, root=builder.region(""), options=options, digest=digest)
    plan.added_waits = builder.added_waits
    plan.children = builder.children
    assign_labels(list(iter_units(plan.root)))
    return plan


class _PlanBuilder:
    def __init__(self, workflow: Tree.Workflow, options: ir.Options) -> None:
        self.index = WorkflowIndex(workflow)
        self.options = options
        self.machine_mode = options.subworkflows == "machine"
        self.edges = _dependency_edges(self.index)
        self.chains = {info.ref: self._chain(info) for info in self.index}
        self.order = {ref: i for i, ref in enumerate(self.index.nodes)}
        self.added_waits: list[tuple[str, str]] = []
        self.children: dict[str, ir.Plan] = {}
        self._below: dict[str, list[str]] = {}
        self._below_sets: dict[str, frozenset[str]] = {}
        self.parts: dict[str, tuple[str, Part]] = {}  # unit key -> (section ref, part)
        self.fission = Fission(self.index, self.edges, self.below, self._is_call, self.chains)

    def _is_call(self, ref: str) -> bool:
        info = self.index[ref]
        return info.is_task_call or (info.is_workflow_call and self.machine_mode)

    # --- which nodes are units, and where they live
    def _chain(self, info: NodeInfo) -> tuple[str, ...]:
        """Refs of the stateful containers around a node, outermost first."""
        scope = info.scope
        prefix: tuple[str, ...] = ()
        if scope.call is not None:
            prefix = self._chain(self.index[scope.ref])
            if self.machine_mode:
                prefix += (scope.ref,)
        local = tuple(
            scope.child_ref(s.workflow_node_id) for s in info.local_sections if contains_calls(s)
        )
        return prefix + local

    def is_unit(self, info: NodeInfo) -> bool:
        if info.is_task_call:
            return True
        if isinstance(info.node, Tree.WorkflowSection):
            return contains_calls(info.node)
        return info.is_workflow_call and self.machine_mode

    def region_chain(self, region: str) -> tuple[str, ...]:
        return () if region == "" else (*self.chains[region], region)

    # --- one region
    def region(self, region: str, restriction: Restriction = None) -> ir.Step:
        """Schedule the units directly inside `region` ("" = the workflow body), holding only
        the nodes of `restriction` when the region is one part of a split section."""
        base = self.region_chain(region)
        members = [n for n in self.below(region) if restriction is None or n in restriction]
        owner = self._owners(members, len(base), restriction)

        def unit_of(ref: str) -> str | None:
            if ref in owner:
                return owner[ref]
            chain = self.chains[ref]
            if len(chain) > len(base):
                return chain[len(base)]  # a subworkflow run as its own machine
            return ref if self.is_unit(self.index[ref]) else None

        order: dict[str, int] = {}
        for ref in members:
            key = unit_of(ref)
            if key is not None and key not in order:  # a part: its first node's place
                order[key] = self.order[ref]
        units = sorted(order, key=order.__getitem__)
        deps = self._unit_deps(members, set(members), unit_of, set(units))
        ordered = _topological(units, deps, order)
        result = schedule(ordered, deps)
        self.added_waits.extend(result.added_waits)
        return self._to_ir(result.tree)

    def _owners(
        self, members: list[str], depth: int, restriction: Restriction
    ) -> dict[str, str | None]:
        """Which part of a section of this region holds each node under it (None: a node of a
        call-free part, or a split section itself: evaluated lazily). See fission.py."""
        owner: dict[str, str | None] = {}
        for ref in members:
            info = self.index[ref]
            chain = self.chains[ref]
            if len(chain) > depth or not (
                isinstance(info.node, Tree.WorkflowSection) and self.is_unit(info)
            ):
                continue
            scoped = None if restriction is None else restriction & self.below_set(ref)
            parts, held = self.fission.split(ref, scoped)
            for part in parts:
                self.parts[part.key] = (ref, part)
            owner[ref] = ref if parts and parts[0].key == ref else None
            for node in self.below(ref):
                owner[node] = held.get(node)
        return owner

    def below(self, region: str) -> list[str]:
        """Every node under `region` (all nodes for ""), in index order."""
        if region not in self._below:
            base = self.region_chain(region)
            self._below[region] = [
                ref for ref, chain in self.chains.items() if chain[: len(base)] == base
            ]
        return self._below[region]

    def below_set(self, region: str) -> frozenset[str]:
        if region not in self._below_sets:
            self._below_sets[region] = frozenset(self.below(region))
        return self._below_sets[region]

    def _unit_deps(
        self,
        members: list[str],
        member_set: set[str],
        unit_of: Callable[[str], str | None],
        unit_set: set[str],
    ) -> dict[str, set[str]]:
        """For each unit, the units it (transitively, through lazy nodes) depends on."""
        preds: dict[str, set[str]] = defaultdict(set)  # contracted: vertex -> predecessor vertices
        for src in members:
            for dst in self.edges.get(src, ()):
                if dst not in member_set:
                    continue
                a, b = unit_of(src) or src, unit_of(dst) or dst
                if a != b:
                    preds[b].add(a)
        memo: dict[str, frozenset[str]] = {}
        deps: dict[str, set[str]] = {}
        for unit in unit_set:
            found: set[str] = set()
            for p in preds.get(unit, ()):
                found |= {p} if p in unit_set else _upstream_units(p, preds, unit_set, memo)
            deps[unit] = found
        return deps

    # --- schedule tree -> IR
    def _to_ir(self, tree: object) -> ir.Step:
        if tree is None:
            return None
        if isinstance(tree, SSeq):
            return ir.Seq([self._to_ir(t) for t in tree.steps])
        if isinstance(tree, SPar):
            return ir.Par([self._to_ir(t) for t in tree.branches])
        if isinstance(tree, SLanes):
            return ir.Par(
                [
                    ir.Lane(
                        [ir.LaneItem(self.unit(it.item), it.wait_for, it.waiters) for it in lane]
                    )
                    for lane in tree.lanes
                ]
            )
        assert isinstance(tree, str)
        return self.unit(tree)

    def unit(self, key: str) -> ir.Unit:
        ref, part = self.parts.get(key, (key, None))
        info = self.index[ref]
        node = info.node
        line = node.pos.line
        body_of = part.restriction if part else None
        suffix = part.suffix if part else ""
        if isinstance(node, Tree.Scatter):
            body = self.region(ref, body_of)
            depth = 1 + sum(isinstance(self.index[c].node, Tree.Scatter) for c in self.chains[ref])
            return ir.ScatterUnit(
                ref,
                f"scatter {node.variable} in {_source_of(node.expr)}{suffix}",
                line,
                body,
                _has_scatter(body),
                file=_file(node),
                depth=depth,
                part=key if key != ref else "",
            )
        if isinstance(node, Tree.Conditional):
            label = f"if {_source_of(node.expr)}{suffix}"
            body = self.region(ref, body_of)
            return ir.IfUnit(
                ref, label, line, body, file=_file(node), part=key if key != ref else ""
            )
        assert isinstance(node, Tree.Call)
        if info.is_workflow_call:
            return self._machine_unit(info)
        return ir.CallUnit(ref, f"call {call_path(ref)}", line, file=_file(node))

    def _machine_unit(self, info: NodeInfo) -> ir.SubMachineUnit:
        assert isinstance(info.node, Tree.Call) and isinstance(info.node.callee, Tree.Workflow)
        callee = info.node.callee
        if callee.name not in self.children:
            child = build_plan(callee, self.options)
            child.scoped = True
            child.kind = "subworkflow"
            self.children[callee.name] = child
        return ir.SubMachineUnit(
            info.ref, f"call {call_path(info.ref)}", info.node.pos.line, callee.name
        )


def _upstream_units(
    vertex: str, preds: dict[str, set[str]], units: set[str], memo: dict[str, frozenset[str]]
) -> frozenset[str]:
    """Units reachable backwards from a lazy vertex, through lazy vertices only. An explicit
    stack, post-order: a chain of 2,000 declarations is 2,000 deep (past the recursion limit)."""
    todo = [vertex]
    while todo:
        top = todo[-1]
        if top in memo:
            todo.pop()
            continue
        lazy = [p for p in preds.get(top, ()) if p not in units]
        missing = [p for p in lazy if p not in memo]
        if missing:
            todo.extend(missing)
            continue
        found: set[str] = {p for p in preds.get(top, ()) if p in units}
        for p in lazy:
            found |= memo[p]
        memo[top] = frozenset(found)
        todo.pop()
    return memo[vertex]


def _dependency_edges(index: WorkflowIndex) -> dict[str, list[str]]:
    """src -> dsts: value dependencies, section -> body, and subworkflow inputs/outputs."""
    edges: dict[str, list[str]] = defaultdict(list)
    for info in index:
        node = info.node
        for dep in node.workflow_node_dependencies:
            edges[index.local_ref(info, dep)].append(info.ref)
        if isinstance(node, Tree.WorkflowSection):
            for child in node.body:
                edges[info.ref].append(index.local_ref(info, child.workflow_node_id))
        if info.is_workflow_call:
            _subworkflow_edges(index, info, edges)
    return edges


def _subworkflow_edges(index: WorkflowIndex, info: NodeInfo, edges: dict[str, list[str]]) -> None:
    """An inlined call: its inputs feed the callee's input decls; the callee's outputs feed it."""
    assert isinstance(info.node, Tree.Call) and isinstance(info.node.callee, Tree.Workflow)
    scope = index.scope_of_call(info.ref)
    callee = info.node.callee
    for decl in callee.inputs or []:
        target = scope.child_ref(decl.workflow_node_id)
        for dep in info.node.workflow_node_dependencies:
            edges[index.local_ref(info, dep)].append(target)
    for node_id in output_node_ids(callee):
        edges[scope.child_ref(node_id)].append(info.ref)


def _topological(units: list[str], deps: dict[str, set[str]], order: dict[str, int]) -> list[str]:
    """Kahn's algorithm, ties broken by source order so the plan is deterministic."""
    import heapq

    indegree = {u: len(deps[u]) for u in units}
    users: dict[str, list[str]] = defaultdict(list)
    for u in units:
        for d in deps[u]:
            users[d].append(u)
    ready = [(order[u], u) for u in units if indegree[u] == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, u = heapq.heappop(ready)
        out.append(u)
        for v in users[u]:
            indegree[v] -= 1
            if indegree[v] == 0:
                heapq.heappush(ready, (order[v], v))
    assert len(out) == len(units), "dependency cycle among units"
    return out


def _has_scatter(step: ir.Step) -> bool:
    return any(isinstance(u, ir.ScatterUnit) for u in iter_units(step, deep=False))


def iter_lane_items(step: ir.Step) -> Iterable[ir.LaneItem]:
    """Every lane item of a plan, inside scatter/if bodies and parts too."""
    if isinstance(step, ir.Seq):
        for s in step.steps:
            yield from iter_lane_items(s)
    elif isinstance(step, ir.Par):
        for b in step.branches:
            yield from iter_lane_items(b)
    elif isinstance(step, ir.Lane):
        for item in step.items:
            yield item
            yield from iter_lane_items(item.unit)
    elif isinstance(step, ir.ScatterUnit | ir.IfUnit | ir.PartUnit):
        yield from iter_lane_items(step.body)


def iter_units(step: ir.Step, deep: bool = True) -> Iterable[ir.Unit]:
    """Units of a step; with deep=False, not those inside scatter/if bodies."""
    if step is None:
        return
    if isinstance(step, ir.Seq):
        for s in step.steps:
            yield from iter_units(s, deep)
    elif isinstance(step, ir.Par):
        for b in step.branches:
            yield from iter_units(b, deep)
    elif isinstance(step, ir.Lane):
        for item in step.items:
            yield from iter_units(item.unit, deep)
    else:
        yield step
        if isinstance(step, ir.PartUnit) or (deep and isinstance(step, ir.ScatterUnit)):
            yield from iter_units(step.body, deep)
        elif isinstance(step, ir.IfUnit):
            yield from iter_units(step.body, deep)


def _file(node: Tree.WorkflowNode) -> str:
    """The base name of the WDL file holding `node` (reports and duplicate labels name it)."""
    return os.path.basename(node.pos.abspath or node.pos.uri)


def _source_of(expr: Expr.Base) -> str:
    """An expression as the user wrote it (miniwdl's str() adds parentheses), on one line."""
    pos = expr.pos
    lines = _source_lines(pos.abspath)
    if not lines or pos.end_line > len(lines):
        return " ".join(str(expr).split())
    if pos.line == pos.end_line:
        text = lines[pos.line - 1][pos.column - 1 : pos.end_column - 1]
    else:
        first = lines[pos.line - 1][pos.column - 1 :]
        text = " ".join(
            [
                first,
                *lines[pos.line : pos.end_line - 1],
                lines[pos.end_line - 1][: pos.end_column - 1],
            ]
        )
    return " ".join(text.split()) or " ".join(str(expr).split())


@functools.lru_cache(maxsize=64)
def _source_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
