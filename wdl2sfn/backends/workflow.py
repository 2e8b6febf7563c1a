"""What every backend starts from: a WDL document loaded (errors as FILE:LINE:COL lines),
compiled with typed options, and its inputs parsed as ``miniwdl run`` parses them. The CLI and
the rehearsal both use it, so neither imports the other."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:  # miniwdl and the compiler are imported by the functions that use them
    import WDL

    from ..compiler import CompiledWorkflow


@dataclass(frozen=True)
class CompileOptions:
    """The compile options of `compile`, `graph`, `check`, `run`, `deploy` and `rehearse`."""

    wdl: str
    path: list[str] = field(default_factory=list)
    check_quant: bool = True
    task: str | None = None
    filesystem: str = "efs"
    max_concurrency: int = 0
    concurrency_ceiling: int = 1000
    subworkflows: str = "inline"
    max_definition_bytes: int = 900_000


def load_document(
    path: str, search: list[str] | None = None, check_quant: bool = True
) -> WDL.Tree.Document:
    """Load WDL; a malformed file is a usage error whose last line is FILE:LINE:COL: message."""
    import WDL

    from .. import wdl

    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    for folder in search or []:
        if not os.path.isdir(folder):
            raise UsageError(f"-p {folder}: no such folder")
    try:
        doc = wdl.load(path, search, check_quant)
        gc.freeze()  # the typed tree lives as long as the process: keep it out of GC passes
        return doc
    except wdl.SourceError as exn:  # its message names the file (and line) already
        raise UsageError(str(exn)) from exn
    except WDL.Error.MultipleValidationErrors as exn:
        first = exn.exceptions[0]
        raise UsageError(_located(first, path), wdl.error_excerpts(exn)) from exn
    except (WDL.Error.SyntaxError, WDL.Error.ValidationError, WDL.Error.ImportError) as exn:
        raise UsageError(_located(exn, path), wdl.error_excerpts(exn)) from exn


def _located(exn: BaseException, path: str) -> str:
    pos = getattr(exn, "pos", None)
    message = str(exn).splitlines()[0] if str(exn) else type(exn).__name__
    if pos is None:
        return f"{path}: {message}"
    return f"{pos.abspath if pos.abspath else path}:{pos.line}:{pos.column}: {message}"


def compile_workflow(options: CompileOptions) -> tuple[WDL.Tree.Document, CompiledWorkflow]:
    """The document (a lone task wrapped as a one-call workflow) and what it compiles to."""
    from ..compiler import CompileError, compile_document, ir

    if options.concurrency_ceiling < 1:
        raise UsageError(
            f"--concurrency-ceiling {options.concurrency_ceiling}: expected 1 or more (shards "
            "nested scatters may run at once)"
        )
    doc = load_document(options.wdl, options.path, options.check_quant)
    if doc.workflow is None or options.task:
        doc = _task_as_workflow(doc, options.task, options.check_quant)
    compile_options = ir.Options(
        check_quant=options.check_quant,
        filesystem=options.filesystem,
        max_concurrency=options.max_concurrency,
        concurrency_ceiling=options.concurrency_ceiling,
        subworkflows=options.subworkflows,
        max_definition_bytes=options.max_definition_bytes,
    )
    try:
        return doc, compile_document(doc, compile_options)
    except CompileError as exn:
        raise UsageError(str(exn)) from exn


def _task_as_workflow(
    doc: WDL.Tree.Document, name: str | None, check_quant: bool = True
) -> WDL.Tree.Document:
    """A document without a workflow: run its task as a one-call workflow (as miniwdl run)."""
    from ..compiler.task_wrapper import TaskSelectionError, pick_task, write_wrapper

    try:
        task = pick_task(doc, name)
    except TaskSelectionError as exn:
        raise UsageError(str(exn)) from exn
    return load_document(str(write_wrapper(doc, task)), check_quant=check_quant)


def parse_inputs(
    doc: WDL.Tree.Document, pairs: list[str], inputs_json: str | None
) -> dict[str, Any]:
    """Inputs exactly as `miniwdl run` takes them; errors name the input and what was expected."""
    import WDL

    from .. import wdl

    try:
        return dict(wdl.runner_inputs(doc, pairs, inputs_json))
    except WDL.Error.InputError as exn:
        raise UsageError(f"input error: {exn}") from exn
    except (WDL.Error.RuntimeError, ValueError, TypeError) as exn:
        raise UsageError(f"input error: {_input_value_error(doc, pairs, exn)}") from exn


def _input_value_error(doc: WDL.Tree.Document, pairs: list[str], exn: Exception) -> str:
    """miniwdl's coercion errors ("invalid literal for int()...") do not name the input: find
    the NAME=VALUE whose value the message quotes, and say what its type wants."""
    text = str(exn)
    exe = doc.workflow or (doc.tasks[0] if len(doc.tasks) == 1 else None)
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not value or f"'{value}'" not in text:
            continue
        local = name.split(".", 1)[1] if exe and name.startswith(exe.name + ".") else name
        expected = ""
        if exe is not None and exe.available_inputs.has_binding(local):
            expected = f"expected {exe.available_inputs[local].type}, "
        return f"input {name}: {expected}got {value!r} ({text})"
    return text
