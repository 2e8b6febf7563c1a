"""Pictures of a state machine: Mermaid (default), Graphviz DOT, or SVG (needs `dot`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
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


def mermaid(definition: dict[str, Any]) -> str:
    ids = _ids(definition)
    lines = ["flowchart TD"]

    def block(graph: dict[str, Any], indent: str) -> None:
        for name, state in graph["States"].items():
            label = name.replace('"', "'")
            lines.append(f'{indent}{ids[name]}["{label}"]')
            subs = state.get("Branches", []) + [
                state[k] for k in ("ItemProcessor", "Iterator") if k in state
            ]
            for i, sub in enumerate(subs):
                lines.append(f'{indent}subgraph {ids[name]}_{i}["{label} ({state["Type"]})"]')
                block(sub, indent + "  ")
                lines.append(f"{indent}end")
                lines.append(f"{indent}{ids[name]} --> {ids[sub['StartAt']]}")
        for a, b, label in edges(graph["States"]):
            arrow = f"-->|{label}|" if label else "-->"
            lines.append(f"{indent}{ids[a]} {arrow} {ids[b]}")

    block(definition, "  ")
    return "\n".join(lines) + "\n"


def dot(definition: dict[str, Any]) -> str:
    ids = _ids(definition)
    lines = ["digraph statemachine {", "  node [shape=box, style=rounded, fontname=Helvetica];"]

    def block(graph: dict[str, Any], indent: str) -> None:
        for name, state in graph["States"].items():
            label = name.replace('"', "'")
            lines.append(f'{indent}{ids[name]} [label="{label}"];')
            subs = state.get("Branches", []) + [
                state[k] for k in ("ItemProcessor", "Iterator") if k in state
            ]
            for i, sub in enumerate(subs):
                lines.append(f'{indent}subgraph cluster_{ids[name]}_{i} {{ label="{label}";')
                block(sub, indent + "  ")
                lines.append(f"{indent}}}")
                lines.append(f"{indent}{ids[name]} -> {ids[sub['StartAt']]} [style=dashed];")
        for a, b, label in edges(graph["States"]):
            lines.append(f'{indent}{ids[a]} -> {ids[b]} [label="{label}"];')

    block(definition, "  ")
    lines.append("}")
    return "\n".join(lines) + "\n"


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
