"""The house as drawn in docs/design.md ("Layer map"), checked against the code's imports.

Why: the layers are a promise about what can change without touching what. A compiler that
imports the executor, a backend that imports the CLI, or two modules that import each other
each make a change in one place ripple into another; reviews miss them, an import graph does not.
The layer order below is the data the design's layer map is written from (a test keeps the two
in step). Fast and I/O-free beyond reading the sources: every check walks ``ast`` imports.

How an import is read: relative imports are resolved; ``from pkg import name`` is an import of the
submodule ``pkg.name`` when there is one, else of ``pkg``; imports inside functions and under
``TYPE_CHECKING`` count (they are still a dependency, only a later one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- the documented layers (data)

#: The layers, lowest first: a module may import its own layer and those below, never above.
#: Each layer is a list of module names (a name covers its submodules).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("contract", ("wdl2sfn.contract", "wdl2sfn.keys")),
    ("adapter", ("wdl2sfn.wdl", "wdl2sfn.workflow_index")),
    ("compiler", ("wdl2sfn.compiler",)),
    ("executor", ("wdl2sfn.statemachine", "wdl2sfn.executor")),
    ("task_runner", ("wdl2sfn.task_runner",)),
    ("runs", ("wdl2sfn.runs",)),
    ("backends", ("wdl2sfn.backends",)),
    ("cli", ("wdl2sfn.cli",)),
)
#: Modules placed by their exact name (no submodules): the distribution's root holds only
#: ``__version__``, which every layer may read.
EXACT: dict[str, str] = {"wdl2sfn": "contract"}


@dataclass(frozen=True)
class SideLayer:
    """A layer outside the order: what it may import, and which layers may import it."""

    modules: tuple[str, ...]
    may_import: frozenset[str]
    imported_by: frozenset[str]


#: The CDK app imports the contract, the adapter and the compiler (to compile the workflow it
#: deploys); only the rehearsal (a backend) imports it, to synthesize the stack it rehearses.
SIDE_LAYERS: dict[str, SideLayer] = {
    "cdk": SideLayer(
        modules=("wdl2sfn_cdk", "app"),
        may_import=frozenset({"contract", "adapter", "compiler"}),
        imported_by=frozenset({"backends"}),
    ),
}
#: The only modules of ``wdl2sfn.backends`` a CLI module may import: the backend interface (the
#: protocol, its requests, its errors, and loading/compiling the workflow a request carries).
BACKEND_INTERFACE = frozenset(
    {
        "wdl2sfn.backends",
        "wdl2sfn.backends.base",
        "wdl2sfn.backends.requests",
        "wdl2sfn.backends.errors",
        "wdl2sfn.backends.workflow",
    }
)
MAX_FUNCTION_LINES = 60
MAX_FILE_LINES = 500
#: Where the sources live: (folder, the module-name prefix its files get).
SOURCES: tuple[tuple[Path, str], ...] = ((ROOT / "wdl2sfn", "wdl2sfn"), (ROOT / "cdk_app", ""))
UNLAYERED = "(no layer)"
ORDER = [name for name, _ in LAYERS]
GROUPS = [*ORDER, *SIDE_LAYERS, UNLAYERED]

# ---------------------------------------------------------------- reading the sources


@cache
def modules() -> dict[str, Path]:
    """Every module of wdl2sfn/ and cdk_app/ by dotted name (a package by its ``__init__``)."""
    found: dict[str, Path] = {}
    for folder, prefix in SOURCES:
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(p for p in [prefix, *parts] if p)] = path
    return found


def _is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def _known(name: str) -> str | None:
    """The module an import of ``name`` lands in (its longest known prefix), or None if not ours."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _targets(importer: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The dotted names one import statement imports (before mapping them to our modules)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = importer.split(".") if _is_package(importer) else importer.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    for alias in node.names:
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Module -> the modules of ours it imports (anywhere in its source)."""
    graph: dict[str, frozenset[str]] = {}
    for name, path in modules().items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(t for t in map(_known, _targets(name, node)) if t and t != name)
        graph[name] = frozenset(edges)
    return graph


def layer_of(module: str) -> str:
    """The layer (or side layer) a module belongs to, by the longest matching name."""
    if module in EXACT:
        return EXACT[module]
    best, layer = "", UNLAYERED
    named = [*LAYERS, *((side, spec.modules) for side, spec in SIDE_LAYERS.items())]
    for candidate, prefixes in named:
        for prefix in prefixes:
            covers = module == prefix or module.startswith(prefix + ".")
            if covers and len(prefix) > len(best):
                best, layer = prefix, candidate
    return layer


# ---------------------------------------------------------------- the checks' logic


def cycles() -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module (Tarjan)."""
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def allowed(importer: str, imported: str) -> bool:
    """May a module of layer ``importer`` import one of layer ``imported``?"""
    if importer == imported:
        return True
    if importer in SIDE_LAYERS:
        return imported in SIDE_LAYERS[importer].may_import
    if imported in SIDE_LAYERS:
        return importer in SIDE_LAYERS[imported].imported_by
    return ORDER.index(imported) <= ORDER.index(importer)


def layer_violations() -> list[tuple[str, str, str, str]]:
    """(importer, imported, importer's layer, imported's layer) for every import against the order.

    Modules of no layer are reported by their own check, not here."""
    found = []
    for importer, targets in sorted(import_graph().items()):
        for imported in sorted(targets):
            a, b = layer_of(importer), layer_of(imported)
            if UNLAYERED not in (a, b) and not allowed(a, b):
                found.append((importer, imported, a, b))
    return found


def _source_files() -> Iterator[Path]:
    for folder, _ in SOURCES:
        yield from sorted(folder.rglob("*.py"))


def long_functions() -> list[str]:
    """Every function or method longer than MAX_FUNCTION_LINES (its ``def`` line to its end)."""
    found = []
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    return found


def _in_group(module: str, group: str) -> bool:
    return layer_of(module) == group


# ---------------------------------------------------------------- the tests


def test_the_walker_reads_the_imports_it_should() -> None:
    """The graph is built as documented (a walker that saw nothing would pass every check)."""
    graph = import_graph()
    assert len(graph) > 100
    assert "wdl2sfn.compiler.asl" in graph["wdl2sfn.compiler.emit"]  # from . import asl
    assert "wdl2sfn.statemachine.kinds" in graph["wdl2sfn.statemachine.executor"]
    assert "wdl2sfn.compiler" in graph["wdl2sfn_cdk.compile"]  # from pkg import a name: pkg
    assert layer_of("wdl2sfn.statemachine.kinds") == "executor"
    assert layer_of("wdl2sfn.keys") == "contract" and layer_of("wdl2sfn") == "contract"


@pytest.mark.parametrize("group", GROUPS)
def test_no_import_cycle_touches(group: str) -> None:
    """No module of this layer is part of an import cycle (each cycle is named in full)."""
    mine = [c for c in cycles() if any(_in_group(m, group) for m in c)]
    assert not mine, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in mine)


@pytest.mark.parametrize("group", [*ORDER, *SIDE_LAYERS])
def test_imports_follow_the_layer_order(group: str) -> None:
    """This layer imports only what the layer map allows it (a lower layer never a higher one)."""
    bad = [v for v in layer_violations() if v[2] == group]
    assert not bad, "imports against the layer order:\n" + "\n".join(
        f"{a} ({la}) imports {b} ({lb})" for a, b, la, lb in bad
    )


def test_every_module_belongs_to_a_layer() -> None:
    """A module of no layer has no rule to break: place it (LAYERS) before it grows imports."""
    loose = sorted(m for m in modules() if layer_of(m) == UNLAYERED)
    assert not loose, "modules of no layer: " + ", ".join(loose)


def test_no_function_is_longer_than_the_limit() -> None:
    found = long_functions()
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(found)


def test_no_file_is_longer_than_the_limit() -> None:
    found = []
    for path in _source_files():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_FILE_LINES:
            found.append(f"{path.relative_to(ROOT)} ({lines})")
    assert not found, f"files over {MAX_FILE_LINES} lines: " + ", ".join(found)


def test_the_cli_reaches_backends_only_through_their_interface() -> None:
    """A CLI module imports ``wdl2sfn.backends`` only through the interface modules."""
    cli = [m for m in modules() if m.startswith("wdl2sfn.cli.") or m == "wdl2sfn.cli"]
    if not any(_is_package(m) for m in cli):
        pytest.skip("wdl2sfn/cli/ is not a package yet")
    bad = [
        f"{m} imports {t}"
        for m in sorted(cli)
        for t in sorted(import_graph()[m])
        if layer_of(t) == "backends" and t not in BACKEND_INTERFACE
    ]
    assert not bad, "CLI modules importing backend internals:\n" + "\n".join(bad)


def test_the_design_documents_these_layers() -> None:
    """docs/design.md's layer map names every layer and every module prefix of this test's data."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    section = text[text.index("## Layer map") :]
    names = [*ORDER, *SIDE_LAYERS]
    prefixes = [p for _, ps in LAYERS for p in ps] + [
        p for s in SIDE_LAYERS.values() for p in s.modules
    ]
    missing = [n for n in names if f"**{n}**" not in section]
    missing += [p for p in prefixes if f"`{p}`" not in section]
    assert not missing, "missing from docs/design.md's layer map: " + ", ".join(missing)
