"""Node references: one flat index of a workflow's nodes, subworkflow calls inlined.

The compiler and the run-time steps must agree on how a state names the WDL node it works on.
Both build this index from the same miniwdl tree, so a reference such as ``call-sub/call-align``
(the ``align`` call inside the subworkflow called as ``sub``) means the same node everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import WDL
from WDL import Tree

SEP = "/"


@dataclass(eq=False)
class Scope:
    """One workflow instance: the top workflow, or a subworkflow inlined at a call."""

    ref: str  # "" for the top workflow, else the reference of the call that instantiates it
    workflow: Tree.Workflow
    call: Tree.Call | None = None
    parent: Scope | None = None
    base_sections: tuple[str, ...] = ()  # refs of the sections enclosing `call`, whole-run view
    aliases: dict[str, str] = field(default_factory=dict)  # miniwdl node id -> the one users see

    def child_ref(self, node_id: str) -> str:
        node_id = self.aliases.get(node_id, node_id)
        return f"{self.ref}{SEP}{node_id}" if self.ref else node_id


@dataclass(eq=False)
class NodeInfo:
    """A node of some scope, with the sections around it."""

    ref: str
    node: Tree.WorkflowNode
    scope: Scope
    local_sections: tuple[Tree.WorkflowSection, ...]  # enclosing sections inside its own scope
    section_refs: tuple[
        str, ...
    ]  # every enclosing section, parent scopes included, outermost first
    scatter_refs: tuple[str, ...] = field(default=())  # the Scatter subset of section_refs

    @property
    def depth(self) -> int:
        """How many scatter indices locate one instance of this node (its shard length)."""
        return len(self.scatter_refs)

    @property
    def is_task_call(self) -> bool:
        return isinstance(self.node, Tree.Call) and isinstance(self.node.callee, Tree.Task)

    @property
    def is_workflow_call(self) -> bool:
        return isinstance(self.node, Tree.Call) and isinstance(self.node.callee, Tree.Workflow)


class WorkflowIndex:
    """Every node of a workflow by reference, subworkflows inlined."""

    def __init__(self, workflow: Tree.Workflow) -> None:
        self.workflow = workflow
        self.nodes: dict[str, NodeInfo] = {}
        self.scopes: dict[str, Scope] = {}
        self._scatter_kind: dict[str, bool] = {}
        self._add_scope(Scope(ref="", workflow=workflow, aliases=lone_task_aliases(workflow)))

    def __getitem__(self, ref: str) -> NodeInfo:
        try:
            return self.nodes[ref]
        except KeyError:
            raise KeyError(f"unknown workflow node reference {ref!r}") from None

    def __iter__(self) -> Iterator[NodeInfo]:
        return iter(self.nodes.values())

    def scope_of_call(self, call_ref: str) -> Scope:
        return self.scopes[call_ref]

    def local_ref(self, info: NodeInfo, node_id: str) -> str:
        """The reference of another node of the same scope, by its miniwdl id."""
        return info.scope.child_ref(node_id)

    def _add_scope(self, scope: Scope) -> None:
        self.scopes[scope.ref] = scope
        wf = scope.workflow
        top_nodes: list[Tree.WorkflowNode] = [*(wf.inputs or []), *wf.body, *(wf.outputs or [])]
        for node in top_nodes:
            self._add_node(scope, node, (), scope.base_sections)

    def _add_node(
        self,
        scope: Scope,
        node: Tree.WorkflowNode,
        local: tuple[Tree.WorkflowSection, ...],
        section_refs: tuple[str, ...],
    ) -> None:
        ref = scope.child_ref(node.workflow_node_id)
        scatters = tuple(r for r in section_refs if self._scatter_kind[r])
        self.nodes[ref] = NodeInfo(ref, node, scope, local, section_refs, scatters)
        if isinstance(node, Tree.WorkflowSection):
            self._scatter_kind[ref] = isinstance(node, Tree.Scatter)
            for gather in node.gathers.values():
                gref = scope.child_ref(gather.workflow_node_id)
                self.nodes[gref] = NodeInfo(gref, gather, scope, local, section_refs, scatters)
            for child in node.body:
                self._add_node(scope, child, (*local, node), (*section_refs, ref))
        elif isinstance(node, Tree.Call) and isinstance(node.callee, Tree.Workflow):
            self._add_scope(
                Scope(
                    ref=ref,
                    workflow=node.callee,
                    call=node,
                    parent=scope,
                    base_sections=section_refs,
                )
            )


LONE_TASK_META = "wdl2sfn_lone_task"


def lone_task_aliases(workflow: Tree.Workflow) -> dict[str, str]:
    """A lone task runs as a one-call workflow named after the task (so inputs and outputs read
    `task.x`, as with `miniwdl run task.wdl`); WDL forbids a call named like its workflow, so the
    call has another name, and this maps it back: its folder, states, job names and failure lines
    say `bwa_mem`, not the wrapper's call name. The wrapper marks itself in its `meta` section."""
    if not workflow.meta.get(LONE_TASK_META):
        return {}
    return {
        node.workflow_node_id: f"call-{node.callee.name}"
        for node in workflow.body
        if isinstance(node, Tree.Call) and node.callee is not None
    }


def output_node_ids(workflow: Tree.Workflow) -> list[str]:
    """Node ids whose values make the workflow's outputs (miniwdl's WorkflowOutputs rule)."""
    if workflow.outputs is not None:
        return [d.workflow_node_id for d in workflow.outputs]
    ids: list[str] = []
    for node in workflow.body:
        if isinstance(node, Tree.Call):
            ids.append(node.workflow_node_id)
        elif isinstance(node, Tree.WorkflowSection):
            ids.extend(
                g.workflow_node_id
                for g in node.gathers.values()
                if isinstance(g.final_referee, Tree.Call)
            )
    return ids


def contains_calls(section: Tree.WorkflowSection) -> bool:
    """Does this section (at any depth) hold a call, i.e. need states of its own?"""
    for node in section.body:
        if isinstance(node, Tree.Call):
            return True
        if isinstance(node, Tree.WorkflowSection) and contains_calls(node):
            return True
    return False


def call_path(ref: str) -> str:
    """The dotted call name of a call reference: ``call-sub/call-align`` -> ``sub.align``."""
    return ".".join(part.removeprefix("call-") for part in ref.split(SEP))


__all__ = [
    "LONE_TASK_META",
    "WDL",
    "NodeInfo",
    "Scope",
    "WorkflowIndex",
    "call_path",
    "contains_calls",
    "lone_task_aliases",
    "output_node_ids",
]
