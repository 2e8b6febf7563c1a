"""Run a lone task (a document without a workflow) as a one-call workflow, as `miniwdl run` does.

The compiler needs a workflow; we generate one that imports the task's document, takes the task's
inputs, calls it once and exposes its outputs, all named so that inputs and outputs JSON look
exactly as they do for `miniwdl run task.wdl` (`task.x` in, `task.out` out); the call itself is
named after the task wherever a user sees it (see `workflow_index.lone_task_aliases`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from WDL import Tree

from ..workflow_index import LONE_TASK_META


class TaskSelectionError(ValueError):
    """No workflow, and no (single) task to run."""


def pick_task(doc: Tree.Document, name: str | None) -> Tree.Task:
    if name:
        for task in doc.tasks:
            if task.name == name:
                return task
        raise TaskSelectionError(f"no task named {name} in {doc.pos.uri}")
    if len(doc.tasks) == 1:
        return doc.tasks[0]
    if not doc.tasks:
        raise TaskSelectionError(f"{doc.pos.uri}: no workflow or task to run")
    names = ", ".join(t.name for t in doc.tasks)
    raise TaskSelectionError(
        f"{doc.pos.uri} has no workflow and several tasks ({names}): choose one with --task"
    )


def wrapper_source(doc: Tree.Document, task: Tree.Task, import_path: str) -> str:
    version = doc.wdl_version or "1.0"
    decls = (
        list(task.inputs)
        if task.inputs is not None
        else [d for d in task.postinputs if d.expr is None]
    )
    inputs = [_input_decl(d) for d in decls]
    bindings = ", ".join(f"{d.name} = {d.name}" for d in decls)
    call = f"{task.name}_task"  # a call may not share the workflow's name: users see the
    # task's own name all the same (workflow_index.lone_task_aliases, keyed by the meta below)
    outputs = [f"    {d.type} {d.name} = {call}.{d.name}" for d in task.outputs]
    call_input = f" {{ input: {bindings} }}" if bindings else ""
    lines = [
        f"version {version}",
        f'import "{import_path}" as wrapped_task_document',
        f"workflow {task.name} {{",
        f"  meta {{ {LONE_TASK_META}: true }}",
        "  input {",
        *[f"    {line}" for line in inputs],
        "  }",
        f"  call wrapped_task_document.{task.name} as {call}{call_input}",
        "  output {",
        *outputs,
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _input_decl(decl: Tree.Decl) -> str:
    """Required inputs stay required; inputs with defaults become optional (None -> default)."""
    ty = str(decl.type)
    if decl.expr is not None and not decl.type.optional:
        ty += "?"
    return f"{ty} {decl.name}"


def write_wrapper(doc: Tree.Document, task: Tree.Task) -> Path:
    """Write the wrapper beside nothing of the user's: in a per-task temp folder."""
    source_path = os.path.abspath(doc.pos.abspath)
    key = hashlib.sha256(f"{source_path}\0{task.name}\0{doc.source_text}".encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "wdl2sfn-task-wrappers" / key
    folder.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(source_path, folder)
    path = folder / f"{task.name}.wdl"
    text = wrapper_source(doc, task, rel)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
