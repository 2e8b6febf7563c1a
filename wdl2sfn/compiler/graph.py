"""Pictures of a state machine: Mermaid (default), Graphviz DOT, or SVG (needs `dot`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


def edges(states: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(from, to, label) for every transition, Catch and Choice rule of one States map."""
    for name, state in states.items():
        if "Next" in state:
            yield name, state["Next"], ""
        for rule in state.get("Choices", []):
            yield name, rule["Next"], "if"
        if "Default" in state:
            yield name, state["Default"], "else"
        for catch in state.get("Catch", []):
            yield name, catch["Next"], "catch"


def _ids(definition: dict[str, Any]) -> dict[str, str]:
    ids: dict[str, str] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            ids[name] = f"s{len(ids)}"
            for branch in state.get("Branches", []):
                walk(branch["States"])
            for key in ("ItemProcessor", "Iterator"):
                if key in state:
                    walk(state[key]["States"])

    walk(definition["States"])
    return ids


@dataclass(frozen=True)
class _Syntax:
    """How one picture language writes nodes, nested blocks and edges."""

    header: list[str]
    footer: list[str]
    node: Callable[[str, str], str]  # (id, label)
    open_block: Callable[[str, str], str]  # (block id, label)
    close_block: str
    enter: Callable[[str, str], str]  # (parent id, child start id)
    edge: Callable[[str, str, str], str]  # (from id, to id, label)


MERMAID = _Syntax(
    header=["flowchart TD"],
    footer=[],
    node=lambda i, label: f'{i}["{label}"]',
    open_block=lambda i, label: f'subgraph {i}["{label}"]',
    close_block="end",
    enter=lambda a, b: f"{a} --> {b}",
    edge=lambda a, b, label: f"{a} -->|{label}| {b}" if label else f"{a} --> {b}",
)
DOT = _Syntax(
    header=["digraph statemachine {", "  node [shape=box, style=rounded, fontname=Helvetica];"],
    footer=["}"],
    node=lambda i, label: f'{i} [label="{label}"];',
    open_block=lambda i, label: f'subgraph cluster_{i} {{ label="{label}";',
    close_block="}",
    enter=lambda a, b: f"{a} -> {b} [style=dashed];",
    edge=lambda a, b, label: f'{a} -> {b} [label="{label}"];',
)


def _draw(definition: dict[str, Any], syntax: _Syntax) -> str:
    ids = _ids(definition)
    lines = list(syntax.header)

    def block(graph: dict[str, Any], indent: str) -> None:
        for name, state in graph["States"].items():
            label = name.replace('"', "'")
            lines.append(indent + syntax.node(ids[name], label))
            subs = state.get("Branches", []) + [
                state[k] for k in ("ItemProcessor", "Iterator") if k in state
            ]
            for i, sub in enumerate(subs):
                lines.append(
                    indent + syntax.open_block(f"{ids[name]}_{i}", f"{label} ({state['Type']})")
                )
                block(sub, indent + "  ")
                lines.append(indent + syntax.close_block)
                lines.append(indent + syntax.enter(ids[name], ids[sub["StartAt"]]))
        for a, b, label in edges(graph["States"]):
            lines.append(indent + syntax.edge(ids[a], ids[b], label))

    block(definition, "  ")
    lines.extend(syntax.footer)
    return "\n".join(lines) + "\n"


def mermaid(definition: dict[str, Any]) -> str:
    return _draw(definition, MERMAID)


def dot(definition: dict[str, Any]) -> str:
    return _draw(definition, DOT)


def render(definition: dict[str, Any], fmt: str) -> str:
    if fmt == "mermaid":
        return mermaid(definition)
    if fmt == "dot":
        return dot(definition)
    exe = shutil.which("dot")
    if not exe:
        raise RuntimeError(
            "--format svg needs Graphviz's `dot` (apt-get install graphviz); try --format dot"
        )
    return subprocess.run(
        [exe, "-Tsvg"], input=dot(definition), capture_output=True, text=True, check=True
    ).stdout
