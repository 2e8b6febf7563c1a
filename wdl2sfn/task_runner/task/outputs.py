"""Collect: the job's exit status checked, the outputs evaluated and confined to the call, written."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import WDL

from ... import wdl as adapter
from .. import batch_params as bp
from .. import cache as call_cache
from .. import symlinks
from ..atomic import write_json_atomic
from ..errors import WdlError, WdlOutputError, WdlTaskFailed
from ..store import RunStore
from ..value_files import type_may_hold_files
from .context import TaskContext, decl_types, is_wdl12, trusted_paths
from .failures import read_attempt, read_rc, task_failed, translate, write_error
from .runtime import task_struct
from .stdlib import call_stdlib, check_output_path


def collect_task(task: WDL.Tree.Task, ctx: TaskContext) -> WDL.Env.Bindings[WDL.Value.Base]:
    """Check the job's exit status, evaluate the outputs, write ``outputs.json`` (and the call
    cache entry). Raises WdlTaskFailed / WdlOutputError (and writes error.json) on failure."""
    call_dir = Path(ctx.call_dir).absolute()
    try:
        return _collect(task, ctx, call_dir)
    except WdlError as exn:
        if not isinstance(exn, WdlTaskFailed):
            exn = WdlTaskFailed(str(exn), **{**exn.info, "cause": type(exn).__name__})
        write_error(call_dir, exn)
        raise exn from exn.__cause__


def _collect(
    task: WDL.Tree.Task, ctx: TaskContext, call_dir: Path
) -> WDL.Env.Bindings[WDL.Value.Base]:
    runtime = _prepared(ctx, call_dir, "runtime.json")
    rc = read_rc(call_dir)
    if rc is None:
        raise task_failed(
            ctx, call_dir, None, "the job did not run to completion (no exit status recorded)"
        )
    if not bp.returncode_allowed(rc, runtime["returnCodes"]):
        raise task_failed(ctx, call_dir, rc, None)

    env = WDL.values_from_json(_prepared(ctx, call_dir, "task_env.json"), decl_types(task))
    if is_wdl12(task):
        attempt = read_attempt(call_dir)
        env = env.bind(
            "task", task_struct(task, ctx.call_name, runtime, return_code=rc, attempt=attempt)
        )
    outputs = _eval_outputs(task, env, call_dir, ctx.call_name)

    write_json_atomic(call_dir / RunStore.OUTPUTS, WDL.values_to_json(outputs))
    if ctx.cache_root is not None:
        try:
            note = json.loads((call_dir / "call_cache.json").read_text())
            if not call_cache.note_ok(Path(ctx.cache_root), call_dir, note):
                return outputs  # rewritten since prepare (by the task?): record nothing
            call_cache.store(
                Path(ctx.cache_root),
                note["key"],
                task=task,
                outputs=outputs,
                input_files=note.get("input_files", {}),
                call_dir=call_dir,
            )
        except (OSError, KeyError, ValueError):
            pass  # the cache is an optimization: never fail a finished call over it
    return outputs


def _prepared(ctx: TaskContext, call_dir: Path, name: str) -> Any:
    """A file prepare wrote into the call folder; gone (a task ran ``rm -rf ../*``): the call
    fails naming it, not with a FileNotFoundError."""
    try:
        return json.loads((call_dir / name).read_text())
    except FileNotFoundError:
        missing = [
            n for n in ("runtime.json", "task_env.json", "command") if not (call_dir / n).exists()
        ]
        raise WdlTaskFailed(
            f"call {ctx.call_name}: {', '.join(missing) or name} deleted from its call folder "
            f"{call_dir} while the task ran (a command like `rm -rf ../*`?): cannot collect its "
            "outputs",
            call=ctx.call_name,
            path=str(call_dir / name),
        ) from None


def _eval_outputs(
    task: WDL.Tree.Task,
    env: WDL.Env.Bindings[WDL.Value.Base],
    call_dir: Path,
    call: str,
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """miniwdl's _eval_task_outputs: each output in dependency order; File/Directory paths
    relative to work/; a missing path is None (an error when the type is not optional)."""
    trusted = trusted_paths(env)
    stdlib = call_stdlib(task, call_dir, outputs=True, trusted=trusted)
    paths = _OutputPaths(str(call_dir), trusted)
    outputs: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    for decl in adapter.task_decl_eval_order(list(task.outputs)):
        assert decl.expr is not None
        try:
            v = decl.expr.eval(env, stdlib=stdlib).coerce(decl.type)
        except Exception as exn:
            raise translate(exn, call, f"output {decl.name}") from exn
        host_v, env_v = paths.rewrite(v, decl, call)
        env = env.bind(decl.name, env_v)
        outputs = outputs.bind(decl.name, host_v)
    return outputs


@dataclass
class _OutputPaths:
    """Where an output's File/Directory values are on the host, checked as miniwdl checks them
    (inside work/ or the call's inputs; a File a file, a Directory a directory)."""

    cdir: str
    trusted: set[str]
    missing: list[str] = field(default_factory=list)  # paths named that do not exist

    def rewrite(
        self, v: WDL.Value.Base, decl: WDL.Tree.Decl, call: str
    ) -> tuple[WDL.Value.Base, WDL.Value.Base]:
        """The output's value with host paths (for outputs.json), and as later outputs see it:
        as written (relative paths stay relative, as in miniwdl), with missing paths as None."""
        if not (type_may_hold_files(v.type) or type_may_hold_files(decl.type)):
            same = v.coerce(decl.type)  # no path to rewrite (nor a copy to make)
            return same, same
        try:
            host_v = WDL.Value.rewrite_paths(v, lambda w: self.host_path(w, decl.name))
            host_v = host_v.coerce(decl.type)
            env_v = WDL.Value.rewrite_paths(
                v, lambda w: None if self.host_path(w, decl.name) is None else w.value
            )
            return host_v, env_v.coerce(decl.type)
        except FileNotFoundError:
            missing = self.missing[-1] if self.missing else None
            where = f": {missing}" if missing else ""
            raise WdlOutputError(
                f"call {call}: File/Directory path not found in task output {decl.name}{where}",
                call=call,
                output=decl.name,
                path=missing,
            ) from None
        except WdlError as exn:
            raise type(exn)(f"call {call}: {exn}", call=call, output=decl.name) from exn

    def host_path(self, w: WDL.Value.File | WDL.Value.Directory, name: str) -> str | None:
        """The host path of one File/Directory value of output `name`; None if it is missing."""
        directory = isinstance(w, WDL.Value.Directory)
        p: str = w.value.rstrip("/") if directory else w.value
        relative = not os.path.isabs(p)
        if relative:
            p = os.path.join(self.cdir, "work", p)
        p = os.path.normpath(p)
        check_output_path(p, self.cdir, self.trusted, f"{name} = {w.value}", relative=relative)
        kind = "Directory" if directory else "File"
        if os.path.isfile(p) if directory else os.path.isdir(p):
            article = "a directory" if directory else "a file"
            raise WdlOutputError(f"{kind} task output {name} is not {article}: {w.value}")
        if not (os.path.isdir(p) if directory else os.path.isfile(p)):
            self.missing.append(p)
            return None
        if directory:
            _check_directory(p, name)
        return p


def _check_directory(path: str, name: str) -> None:
    """The Directory is handed whole to the next call, so every symlink inside it (file or
    directory, relative or absolute) must resolve inside it, neither dangling nor looping
    (``symlinks`` says why; the next call's prepare would otherwise place what they point to)."""
    bad = symlinks.bad_links(path)
    if bad:
        raise WdlOutputError(
            f"Directory in output {name} holds a symlink it may not: {symlinks.describe(bad)}",
            output=name,
            links=[b.link for b in bad],
        )


def read_outputs(task: WDL.Tree.Task, call_dir: Path) -> WDL.Env.Bindings[WDL.Value.Base]:
    """Reload ``<call_dir>/outputs.json`` with the task's output types."""
    data = json.loads((Path(call_dir) / RunStore.OUTPUTS).read_text())
    return WDL.values_from_json(data, task.effective_outputs)
