"""Workflow-level evaluation for stateless steps: the value of any node at any shard.

miniwdl's own workflow runner keeps every node's outputs in memory for the whole run. Here each
step is a short-lived function, so values are read from (and lazily written to) the run store:

* a task call's outputs are its `outputs.json` (written by collect);
* a declaration is evaluated the first time a step needs it, then stored;
* a gather assembles the referee's values over the section's shards (or None when an if was not
  taken), exactly as miniwdl's `_gather` does;
* a scatter's collection and an if's condition are evaluated by the eval step (or lazily, for
  sections that hold no call), then stored.

The environment for evaluating a node is miniwdl's: the merged outputs of its dependencies plus
the scatter variables of its enclosing sections.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

import WDL
from WDL import Env, Tree, Type, Value

from .. import wdl
from ..workflow_index import NodeInfo, Scope, WorkflowIndex, call_path, output_node_ids
from .errors import WdlEvalError
from .file_policy import WorkflowFiles
from .store import RunStore, Shard
from .task import read_outputs

Bindings = Env.Bindings[Value.Base]
V = TypeVar("V")
_T = TypeVar("_T")

#: values of shards (and of nested scatters' collections) kept at once; a run's memory must not
#: grow with its shards (each value is in the store, and is read back when needed again)
SHARD_VALUES_KEPT = 4096


class _Memo(Generic[V]):
    """Values by (node, shard): every value outside scatters is kept (one per node), those of
    shards only for the SHARD_VALUES_KEPT most recently used."""

    def __init__(self, keep: int = SHARD_VALUES_KEPT) -> None:
        self.keep = keep
        self._top: dict[str, V] = {}
        self._shards: OrderedDict[tuple[str, Shard], V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, ref: str, shard: Shard) -> V | None:
        with self._lock:
            if not shard:
                return self._top.get(ref)
            hit = self._shards.get((ref, shard))
            if hit is not None:
                self._shards.move_to_end((ref, shard))
            return hit

    def put(self, ref: str, shard: Shard, value: V) -> None:
        with self._lock:
            if not shard:
                self._top[ref] = value
                return
            self._shards[(ref, shard)] = value
            if len(self._shards) > self.keep:
                self._shards.popitem(last=False)


@dataclass(frozen=True)
class ScatterItems:
    """A scatter's collection as its JSON; an item's WDL value is made when a shard asks for it
    (a Value.Array of 100,000 Ints holds 22 MB, its JSON list 3.6 MB). Items are made from the
    JSON the store holds, as every other process of the run (a Lambda on AWS) makes them."""

    item_type: Type.Base
    items: list[Any]

    def __len__(self) -> int:
        return len(self.items)

    def at(self, index: int) -> Value.Base:
        return Value.from_json(self.item_type, self.items[index])


@dataclass
class WorkflowEval:
    """Values of one run; safe to share between threads of one process (the local backend)."""

    store: RunStore
    run: str
    workflow: Tree.Workflow
    index: WorkflowIndex
    inputs: Bindings  # the run's workflow inputs, without namespace
    _memo: _Memo[Bindings] = field(default_factory=_Memo)
    _items: _Memo[ScatterItems] = field(default_factory=lambda: _Memo(256))
    _files: WorkflowFiles | None = None

    @property
    def files(self) -> WorkflowFiles:
        """The run's file-access policy (workflow inputs and call products only)."""
        if self._files is None:
            self._files = WorkflowFiles.of_run(self.store.root, self.run, self.inputs)
        return self._files

    # ------------------------------------------------------------------ public
    def bindings(self, ref: str, shard: Sequence[int]) -> Bindings:
        """The outputs env of node `ref` (names as miniwdl binds them) for the given shard."""
        info = self.index[ref]
        prefix = tuple(shard[: info.depth])
        hit = self._memo.get(ref, prefix)
        if hit is not None:
            return hit
        value = self._compute(info, prefix)
        self._memo.put(ref, prefix, value)
        return value

    def env_for(self, info: NodeInfo, shard: Sequence[int]) -> Bindings:
        """Environment to evaluate `info`'s expressions in: dependencies + scatter variables."""
        env: Bindings = Env.Bindings()
        for name, value in self._scatter_vars(info, shard):
            env = env.bind(name, value)
        deps = [
            self.bindings(self.index.local_ref(info, d), shard)
            for d in info.node.workflow_node_dependencies
        ]
        return Env.merge(env, *deps)

    def scatter_items(self, ref: str, shard: Sequence[int]) -> ScatterItems:
        """The scatter's collection at this shard prefix (evaluated once, then read back; kept
        in memory, since every shard's steps look up their own item in it)."""
        info = self.index[ref]
        prefix = tuple(shard[: info.depth])
        hit = self._items.get(ref, prefix)
        if hit is not None:
            return hit
        items = self._load_or_eval_items(info, prefix)
        self._items.put(ref, prefix, items)
        return items

    def _load_or_eval_items(self, info: NodeInfo, prefix: Shard) -> ScatterItems:
        node = info.node
        assert isinstance(node, Tree.Scatter)
        path = self.store.value_path(self.run, info.ref, prefix)
        ty = node.expr.type
        if path.exists():
            data = self.store.read_json(path)
        else:
            data = _as_array(self._eval_expr(node.expr, info, prefix).coerce(ty)).json
            self.store.write_json(path, data)
        assert isinstance(ty, Type.Array) and isinstance(data, list), (ty, data)
        return ScatterItems(ty.item_type, data)

    def condition(self, ref: str, shard: Sequence[int]) -> bool:
        info = self.index[ref]
        node = info.node
        assert isinstance(node, Tree.Conditional)
        prefix = tuple(shard[: info.depth])
        path = self.store.value_path(self.run, ref, prefix)
        if path.exists():
            return bool(self.store.read_json(path))
        value = self._eval_expr(node.expr, info, prefix).coerce(Type.Boolean()).value
        self.store.write_json(path, bool(value))
        return bool(value)

    def call_inputs(self, info: NodeInfo, shard: Sequence[int]) -> Bindings:
        """A call's inputs: its input expressions, plus any supplied in the run inputs."""
        call = info.node
        assert isinstance(call, Tree.Call)
        env = self.env_for(info, shard)
        stdlib = self.stdlib(info)
        values: Bindings = Env.Bindings()
        for expr_name, expr in call.inputs.items():
            value = self._guard(info, partial(expr.eval, env, stdlib=stdlib))
            values = values.bind(expr_name, value)
        for b in self._supplied_call_inputs(info):
            values = values.bind(b.name, b.value)
        callee = call.callee
        assert isinstance(callee, Tree.Task | Tree.Workflow)
        return self._guard(info, partial(wdl.coerce_call_inputs, callee.available_inputs, values))

    def workflow_outputs(self) -> Bindings:
        """The top workflow's outputs, namespaced by nothing (callers add the workflow name)."""
        return self._scope_outputs(self.index.scopes[""], ())

    def check_declarations(self) -> None:
        """Evaluate every declaration instance no step needed, so errors in them still fail the
        run (WDL evaluates all declarations; lazy evaluation alone would skip unused ones)."""
        top = self.index.scopes[""]
        self._walk(top, _scope_nodes(top.workflow), ())

    def _walk(self, scope: Scope, nodes: list[Tree.WorkflowNode], shard: Shard) -> None:
        for node in nodes:
            ref = scope.child_ref(node.workflow_node_id)
            if isinstance(node, Tree.Decl):
                self.bindings(ref, shard)
            elif isinstance(node, Tree.Scatter):
                for i in range(len(self.scatter_items(ref, shard))):
                    self._walk(scope, node.body, (*shard, i))
            elif isinstance(node, Tree.Conditional):
                if self.condition(ref, shard):
                    self._walk(scope, node.body, shard)
            elif isinstance(node, Tree.Call) and isinstance(node.callee, Tree.Workflow):
                sub = self.index.scope_of_call(ref)
                self._walk(sub, _scope_nodes(sub.workflow), shard)

    def stdlib(self, info: NodeInfo) -> WDL.StdLib.Base:
        return workflow_stdlib(self.store, self.run, info.scope.workflow, self.files)

    # ------------------------------------------------------------------ computing one node
    def _compute(self, info: NodeInfo, shard: Shard) -> Bindings:
        node = info.node
        if isinstance(node, Tree.Decl):
            return Env.Bindings(Env.Binding(node.name, self._decl(info, shard)))
        if isinstance(node, Tree.Gather):
            return self._gather(info, shard)
        if isinstance(node, Tree.Call):
            return self._call_outputs(info, shard)
        return Env.Bindings()  # a section node itself has no outputs

    def _decl(self, info: NodeInfo, shard: Shard) -> Value.Base:
        decl = info.node
        assert isinstance(decl, Tree.Decl)
        path = self.store.value_path(self.run, info.ref, shard)
        if path.exists():
            return Value.from_json(decl.type, self.store.read_json(path))
        supplied = self._supplied(info, shard)
        given = supplied.get(decl.name) if supplied is not None and decl.name in supplied else None
        if given is not None and not _null_for_default(given, decl):
            value = given
        elif decl.expr is not None:
            value = self._eval_expr(decl.expr, info, shard)
        else:
            value = Value.Null()
        value = self._guard(info, lambda: value.coerce(decl.type))
        self.store.write_json(path, value.json)
        return value

    def _supplied(self, info: NodeInfo, shard: Shard) -> Bindings | None:
        """Values supplied for a scope's input declarations: run inputs, or the call's inputs."""
        decl = info.node
        if not any(d is decl for d in info.scope.workflow.inputs or []):
            return None
        if info.scope.call is None:
            return self.inputs
        return self.call_inputs(self.index[info.scope.ref], shard)

    def _call_outputs(self, info: NodeInfo, shard: Shard) -> Bindings:
        call = info.node
        assert isinstance(call, Tree.Call)
        if isinstance(call.callee, Tree.Task):
            call_dir = self.store.call_dir(self.run, info.ref, shard)
            outputs = read_outputs(call.callee, call_dir)
        else:
            outputs = self._scope_outputs(self.index.scope_of_call(info.ref), shard)
        return outputs.wrap_namespace(call.name)

    def _scope_outputs(self, scope: Scope, shard: Shard) -> Bindings:
        """A workflow scope's outputs: its output decls, or (no output section) all call outputs."""
        workflow = scope.workflow
        envs = [self.bindings(scope.child_ref(i), shard) for i in output_node_ids(workflow)]
        # without an output section (WDL 1.0) call outputs keep their `call.name` namespace
        return Env.merge(*envs) if envs else Env.Bindings()

    def _gather(self, info: NodeInfo, shard: Shard) -> Bindings:
        gather = info.node
        assert isinstance(gather, Tree.Gather)
        section_ref = self.index.local_ref(info, gather.section.workflow_node_id)
        referee_ref = self.index.local_ref(info, gather.referee.workflow_node_id)
        if isinstance(gather.section, Tree.Scatter):
            count = len(self.scatter_items(section_ref, shard))
            shards = (self.bindings(referee_ref, (*shard, i)) for i in range(count))
            return wdl.gather_shards(gather, shards)
        if self.condition(section_ref, shard):
            parts = [self.bindings(referee_ref, shard)]
        else:
            parts = []
        return wdl.gather(gather, parts)

    # ------------------------------------------------------------------ helpers
    def _scatter_vars(self, info: NodeInfo, shard: Sequence[int]) -> list[tuple[str, Value.Base]]:
        out = []
        for section in info.local_sections:
            if isinstance(section, Tree.Scatter):
                ref = self.index.local_ref(info, section.workflow_node_id)
                position = self.index[ref].depth  # its own index sits right after its prefix
                items = self.scatter_items(ref, shard)
                out.append((section.variable, items.at(shard[position])))
        return out

    def _supplied_call_inputs(self, info: NodeInfo) -> Bindings:
        """Inputs for a top-level call given in the run inputs as `call.input` (miniwdl style)."""
        if info.scope.call is not None:
            return Env.Bindings()
        call = info.node
        assert isinstance(call, Tree.Call)
        return (
            self.inputs.enter_namespace(call.name)
            if self.inputs.has_namespace(call.name)
            else Env.Bindings()
        )

    def _eval_expr(self, expr: WDL.Expr.Base, info: NodeInfo, shard: Sequence[int]) -> Value.Base:
        env = self.env_for(info, shard)
        stdlib = self.stdlib(info)
        return self._guard(info, lambda: expr.eval(env, stdlib=stdlib))

    def _guard(self, info: NodeInfo, fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except (WDL.Error.EvalError, WDL.Error.RuntimeError, ValueError, TypeError) as exn:
            pos = info.node.pos
            raise WdlEvalError(
                f"{pos.uri}:{pos.line}:{pos.column}: {_describe(info)}: {exn}",
                node=info.ref,
                source=pos.uri,
                line=pos.line,
                column=pos.column,
            ) from exn


def _scope_nodes(workflow: Tree.Workflow) -> list[Tree.WorkflowNode]:
    return [*(workflow.inputs or []), *workflow.body, *(workflow.outputs or [])]


def _null_for_default(value: Value.Base, decl: Tree.Decl) -> bool:
    """miniwdl: None supplied for a non-optional input with a default means "use the default"."""
    return isinstance(value, Value.Null) and decl.expr is not None and not decl.type.optional


def _describe(info: NodeInfo) -> str:
    node = info.node
    if isinstance(node, Tree.Decl):
        return f"declaration {node.name}"
    if isinstance(node, Tree.Call):
        return f"call {call_path(info.ref)}"
    if isinstance(node, Tree.Scatter):
        return f"scatter over {node.variable}"
    return type(node).__name__.lower()


def _as_array(value: Value.Base) -> Value.Array:
    assert isinstance(value, Value.Array), value
    return value


def workflow_stdlib(
    store: RunStore, run: str, workflow: Tree.Workflow, files: WorkflowFiles
) -> WDL.StdLib.Base:
    """Workflow-level stdlib: files are host paths, read only if the run may (file_policy);
    write_* files go to <run>/_write/. From WDL 1.2 a relative path is the workflow source's
    folder's (as miniwdl resolves it), and reading inside that folder is allowed."""
    run_dir = store.run_dir(run)
    source_dir = getattr(workflow, "source_dir", "") or ""
    relative_to_source = bool(source_dir) and workflow.effective_wdl_version not in (
        "draft-2",
        "1.0",
        "1.1",
    )

    def devirtualize(filename: str) -> str:
        """A read_*() argument as a local path: relative to the source from WDL 1.2; a URI input
        (a local file `run --backend aws` shipped to S3, an https:// input) is downloaded to the
        store's download cache."""
        from .localize import download, is_uri

        if relative_to_source and not os.path.isabs(filename) and "://" not in filename:
            path = os.path.normpath(os.path.join(source_dir, filename))
            if wdl.path_really_within(path, source_dir):
                return path
        path = files.check(filename, "read_*() argument")
        return download(path, store.root) if is_uri(path) else path

    return wdl.HookedStdLib(
        workflow.effective_wdl_version,
        write_dir=str(run_dir / "_write"),
        devirtualize=devirtualize,
        virtualize=lambda fn: fn,
        resolve_relative=lambda fn: fn,
        join_paths_dir=str(run_dir),
    )
