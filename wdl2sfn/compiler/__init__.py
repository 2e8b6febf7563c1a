"""The compiler: a WDL workflow (as miniwdl loads it) -> an AWS Step Functions state machine.

Pure: no I/O beyond reading the WDL, no AWS, no run-time code. `compile_workflow` is the one
entry point the CLI, the CDK construct and the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from WDL import Tree

from .. import wdl
from . import ir
from .bundle import Bundle, bundle_of
from .concurrency import cap_nested_scatters
from .emit import Emitter
from .plan import build_plan
from .report import placeholders_of, report_of
from .split import fit_definition

MAX_SECTION_NESTING = 100  # compile time grows with the cube of the depth: 0.3 s at 50, 10 s at 200


class CompileError(Exception):
    """A workflow the compiler cannot express; the message names the construct and its line."""


@dataclass
class CompiledWorkflow:
    name: str
    definition: dict[str, Any]
    placeholders: list[str]
    digest: str
    sources: dict[str, str]
    main: str
    plan: ir.Plan
    report: dict[str, Any]
    children: dict[str, CompiledWorkflow] = field(default_factory=dict)

    def stack_machines(self) -> dict[str, dict[str, Any]]:
        """The stack's machines this workflow starts (every call, its end), by placeholder."""
        from .stack_machines import stack_machines

        return stack_machines(self.plan.options.filesystem)

    def all_machines(self) -> dict[str, CompiledWorkflow]:
        """Every child machine at any depth, by name (each once)."""
        found: dict[str, CompiledWorkflow] = {}
        for name, child in self.children.items():
            found.update(child.all_machines())
            found[name] = child
        return found


def compile_workflow(
    path: str,
    *,
    filesystem: str = "efs",
    max_concurrency: int = 0,
    subworkflows: str = "inline",
    check_quant: bool = True,
) -> CompiledWorkflow:
    """Load, type-check and compile `path` (raises WDL.Error.* for bad WDL, CompileError)."""
    doc = wdl.load(path, check_quant=check_quant)
    options = ir.Options(
        filesystem=filesystem,
        max_concurrency=max_concurrency,
        subworkflows=subworkflows,
        check_quant=check_quant,
    )
    return compile_document(doc, options)


def compile_document(doc: Tree.Document, options: ir.Options) -> CompiledWorkflow:
    if doc.workflow is None:
        raise CompileError(
            f"{doc.pos.uri}: no workflow in this document (a task alone cannot be compiled)"
        )
    depth = _nesting_depth(doc.workflow.body)
    if depth > MAX_SECTION_NESTING:
        raise CompileError(
            f"{doc.pos.uri}: workflow {doc.workflow.name} nests scatter/if sections {depth} deep;"
            f" wdl2sfn compiles up to {MAX_SECTION_NESTING} (docs/limits.md)"
        )
    try:
        _check_supported(doc.workflow)
        bundle = bundle_of(doc)
        plan = build_plan(doc.workflow, options, bundle.digest)
        cap_nested_scatters(plan)
        _fit_all(plan)
        return _compiled(plan, bundle)
    except RecursionError:
        # long chains and wide DAGs are iterative; only section nesting recurses (per level)
        raise CompileError(
            f"{doc.pos.uri}: workflow {doc.workflow.name} nests scatter/if sections"
            f" {_nesting_depth(doc.workflow.body)} deep, deeper than wdl2sfn can compile"
        ) from None


def _nesting_depth(nodes: list[Tree.WorkflowNode]) -> int:
    """How many sections deep the body goes (measured without recursion)."""
    deepest = 0
    todo = [(node, 0) for node in nodes]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, Tree.WorkflowSection):
            todo.extend((child, depth + 1) for child in node.body)
            deepest = max(deepest, depth + 1)
    return deepest


def _fit_all(plan: ir.Plan) -> None:
    """Every machine (the workflow, each subworkflow machine) under the definition size limit."""
    for child in list(plan.children.values()):
        _fit_all(child)
    fit_definition(plan)


def _compiled(plan: ir.Plan, bundle: Bundle) -> CompiledWorkflow:
    """The machine of `plan` and, nested, the child machines it starts (deploy depth first)."""
    emitter = Emitter(plan)
    definition = emitter.machine()
    children = {name: _compiled(child, bundle) for name, child in plan.children.items()}
    return CompiledWorkflow(
        name=plan.name,
        definition=definition,
        placeholders=placeholders_of(definition),
        digest=bundle.digest,
        sources=bundle.files,
        main=bundle.main,
        plan=plan,
        report=report_of(
            plan, definition, emitter.scatters, {n: c.report for n, c in children.items()}
        ),
        children=children,
    )


def _check_supported(workflow: Tree.Workflow) -> None:
    """Reject constructs without a faithful translation, naming the construct and its line."""
    for node in _walk(workflow.body):
        if type(node).__name__ == "CallTry":
            raise CompileError(
                f"{node.pos.uri}:{node.pos.line}:{node.pos.column}: 'call try' is not supported by wdl2sfn"
            )
        if isinstance(node, Tree.Call) and isinstance(node.callee, Tree.Workflow):
            _check_supported(node.callee)


def _walk(nodes: list[Tree.WorkflowNode]):  # type: ignore[no-untyped-def]
    for node in nodes:
        yield node
        if isinstance(node, Tree.WorkflowSection):
            yield from _walk(node.body)


__all__ = [
    "MAX_SECTION_NESTING",
    "CompileError",
    "CompiledWorkflow",
    "compile_document",
    "compile_workflow",
    "ir",
]
