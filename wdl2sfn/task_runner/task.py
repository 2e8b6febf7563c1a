"""The task-level run-time steps of one WDL task call: Prepare -> (Batch job) -> Collect.

``prepare_task`` localizes the call's File inputs, evaluates the task's declarations, runtime
section and command with miniwdl's evaluator, consults the call cache, writes the call directory
and returns the Batch job to submit. The job runs ``bash ../command`` in ``<call_dir>/work`` and
records the command's exit status in ``<call_dir>/rc``. ``collect_task`` checks that status against
``returnCodes``, evaluates the outputs (stdout()/stderr()/glob() and File outputs confined to the
call directory) and writes ``outputs.json``. ``recover_task`` handles a failed job: a spot job whose
host was reclaimed is resubmitted on demand; anything else raises ``WdlTaskFailed``.

Call directory layout (``TaskContext.call_dir``)::

    command  inputs.json  task_env.json  runtime.json  job.json  rc  stdout.txt  stderr.txt
    outputs.json  error.json  cached_from  call_cache.json  inputs/<n>/<basename>  write_/  work/

On AWS the jobs mount the shared file system at the same path as the Lambda steps, so every path in
a WDL value is the same in Prepare, in the job and in Collect (no in-container path mapping).
"""

from __future__ import annotations

import contextlib
import glob as globlib
import json
import os
import re
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import WDL

from .. import wdl as adapter
from . import batch_params as bp
from . import cache as call_cache
from .atomic import write_json_atomic, write_text_atomic
from .errors import (
    WdlError,
    WdlInputError,
    WdlOutputError,
    WdlRuntimeError,
    WdlTaskFailed,
    from_miniwdl,
)
from .localize import local_paths, localize_inputs

__all__ = [
    "TaskContext",
    "Prepared",
    "prepare_task",
    "collect_task",
    "recover_task",
    "read_outputs",
    "wrapper_script",
    "STDERR_TAIL_LINES",
]

STDERR_TAIL_LINES = 20
_RUNTIME_OVERRIDE_NAMESPACES = ("runtime", "requirements")
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


@dataclass
class TaskContext:
    """Where and how one call runs."""

    call_dir: Path
    call_name: str
    job_name: str
    queues: dict[str, str]
    job_definitions: Any
    store_root: Path
    cache_root: Path | None
    copy_input_files: bool = False
    mount: dict[str, Any] = field(default_factory=dict)
    default_image: str = "ubuntu:22.04"
    #: run options (`run --env`, `--runtime-defaults`): task environment, runtime defaults
    env: dict[str, str] = field(default_factory=dict)
    runtime_defaults: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prepared:
    cached: bool
    job: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"cached": self.cached, "job": self.job}


# ================================================================ prepare


def prepare_task(
    task: WDL.Tree.Task, inputs: WDL.Env.Bindings[WDL.Value.Base], ctx: TaskContext
) -> Prepared:
    """Prepare one call (see module doc). Idempotent: preparing the same call again gives the
    same files and the same job."""
    call_dir = Path(ctx.call_dir).absolute()
    call_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("rc", "outputs.json", "error.json", "cached_from"):
        with contextlib.suppress(FileNotFoundError):
            (call_dir / stale).unlink()
    try:
        return _prepare(task, inputs, ctx, call_dir)
    except WdlError as exn:
        _write_error(call_dir, exn)
        raise


def _prepare(
    task: WDL.Tree.Task,
    inputs: WDL.Env.Bindings[WDL.Value.Base],
    ctx: TaskContext,
    call_dir: Path,
) -> Prepared:
    if not _JOB_NAME.match(ctx.job_name):
        raise WdlInputError(f"invalid Batch job name {ctx.job_name!r}", call=ctx.call_name)
    inputs = _check_inputs(task, inputs, ctx.call_name)
    write_json_atomic(call_dir / "inputs.json", WDL.values_to_json(inputs), durable=False)

    # call cache: keyed on the inputs as given (before localization), as miniwdl keys them
    key = call_cache.cache_key(task, inputs)
    if ctx.cache_root is not None:
        entry = call_cache.lookup(Path(ctx.cache_root), key, task.effective_outputs)
        if entry is not None:
            write_json_atomic(call_dir / "outputs.json", entry["outputs"])
            write_json_atomic(
                call_dir / "cached_from",
                {"dir": entry.get("dir"), "entry": str(call_cache.entry_path(ctx.cache_root, key))},
            )
            return Prepared(cached=True, job=None)
    input_stats = call_cache.file_stats(local_paths(inputs))
    note = call_cache.prepare_note(ctx.cache_root, call_dir, key, input_stats)
    write_json_atomic(call_dir / "call_cache.json", note, durable=False)

    # localize File/Directory inputs, then evaluate the remaining declarations
    localized = localize_inputs(
        _drop_defaulted_nones(task, inputs),
        call_dir,
        Path(ctx.store_root),
        copy=ctx.copy_input_files,
        contained=bool(ctx.mount.get("contained")),
    )
    env = _eval_decls(task, localized, call_dir, ctx.call_name)

    # runtime{} (+ call-input overrides) -> normalized runtime.json
    raw = _eval_runtime(task, env, inputs, call_dir, ctx.call_name)
    for key, default in ctx.runtime_defaults.items():  # miniwdl's --runtime-defaults
        same = ("docker", "container") if key in ("docker", "container") else (key,)
        if not any(k in raw for k in same):
            raw[key] = WDL.Value.from_json(WDL.Type.Any(), default)
    runtime = _normalize_runtime(raw, ctx, task, env)
    runtime["env"] = {**ctx.env, **runtime["env"]}  # --env; the task's own env wins

    # WDL 1.2: the `task` runtime-info struct is visible to the command
    cmd_env = env
    if _is_wdl12(task):
        cmd_env = env.bind("task", _task_struct(task, ctx.call_name, runtime))
    command = _eval_command(task, cmd_env, call_dir, ctx.call_name)

    (call_dir / "work").mkdir(exist_ok=True)
    # regenerated by any re-run of prepare: atomic, but not worth an fsync each
    write_text_atomic(call_dir / "command", command, durable=False)
    env_json = WDL.values_to_json(_decl_bindings(task, env))
    write_json_atomic(call_dir / "task_env.json", env_json, durable=False)
    write_json_atomic(call_dir / "runtime.json", runtime, durable=False)
    job = _build_job(ctx, call_dir, runtime)
    write_json_atomic(call_dir / "job.json", job, durable=False)
    return Prepared(cached=False, job=job)


def _check_inputs(
    task: WDL.Tree.Task, inputs: WDL.Env.Bindings[WDL.Value.Base], call: str
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """Coerce each input to its declared type; reject unknown and missing required inputs."""
    available = task.available_inputs
    ans: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    for b in inputs:
        name = b.name
        if name.split(".", 1)[0] in _RUNTIME_OVERRIDE_NAMESPACES + ("hints",) and "." in name:
            ans = ans.bind(name, b.value)
            continue
        if not available.has_binding(name) or name.startswith("_"):
            raise WdlInputError(f"call {call}: unknown input {name}", call=call, input=name)
        decl = available[name]
        v = b.value
        if isinstance(v, WDL.Value.Null) and decl.expr is not None and not decl.type.optional:
            ans = ans.bind(name, v)  # miniwdl: the default applies (see _drop_defaulted_nones)
            continue
        try:
            v = v.coerce(decl.type)
        except Exception as exn:
            raise WdlInputError(
                f"call {call}: input {name} is not a {decl.type}: {exn}", call=call, input=name
            ) from exn
        ans = ans.bind(name, v)
    for req in task.required_inputs:
        if not ans.has_binding(req.name):
            raise WdlInputError(
                f"call {call}: missing required input {req.name}", call=call, input=req.name
            )
    return ans


def _drop_defaulted_nones(
    task: WDL.Tree.Task, inputs: WDL.Env.Bindings[WDL.Value.Base]
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """A None supplied for a non-optional input that has a default means "use the default"
    (miniwdl's _eval_task_inputs); an explicitly optional input keeps the None."""
    available = task.available_inputs

    def keep(b: WDL.Env.Binding[WDL.Value.Base]) -> bool:
        if not isinstance(b.value, WDL.Value.Null) or not available.has_binding(b.name):
            return True
        decl = available[b.name]
        return not (decl.expr is not None and not decl.type.optional)

    return inputs.filter(keep)


def _decls(task: WDL.Tree.Task) -> list[WDL.Tree.Decl]:
    return list(task.inputs or []) + list(task.postinputs)


def _decl_bindings(
    task: WDL.Tree.Task, env: WDL.Env.Bindings[WDL.Value.Base]
) -> WDL.Env.Bindings[WDL.Value.Base]:
    ans: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    for decl in reversed(_decls(task)):
        if env.has_binding(decl.name):
            ans = ans.bind(decl.name, env[decl.name])
    return ans


def _decl_types(task: WDL.Tree.Task) -> WDL.Env.Bindings[WDL.Type.Base]:
    ans: WDL.Env.Bindings[WDL.Type.Base] = WDL.Env.Bindings()
    for decl in reversed(_decls(task)):
        ans = ans.bind(decl.name, decl.type)
    return ans


def _eval_decls(
    task: WDL.Tree.Task,
    inputs: WDL.Env.Bindings[WDL.Value.Base],
    call_dir: Path,
    call: str,
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """Evaluate input defaults and post-input declarations in dependency order (miniwdl's
    _eval_task_inputs, with host paths = job paths)."""
    env: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    for b in inputs:
        if not b.name.startswith(_RUNTIME_OVERRIDE_NAMESPACES + ("hints",)) or "." not in b.name:
            env = env.bind(b.name, b.value)
    stdlib = _stdlib(task, call_dir, outputs=False, trusted=_trusted_paths(env))
    pending = [d for d in _decls(task) if not env.has_binding(d.name)]
    for decl in adapter.task_decl_eval_order(pending):
        try:
            v = decl.expr.eval(env, stdlib=stdlib) if decl.expr else WDL.Value.Null()
            v = v.coerce(decl.type)
        except Exception as exn:
            raise _translate(exn, call, f"declaration {decl.name}") from exn
        env = env.bind(decl.name, v)
    return env


def _trusted_paths(env: WDL.Env.Bindings[WDL.Value.Base]) -> set[str]:
    """Localized input paths and what they resolve to (a symlinked input may point outside the
    call directory; it is still the call's own input)."""
    ans: set[str] = set()
    for p, _d in local_paths(env):
        ans.add(os.path.abspath(p))
        ans.add(os.path.realpath(p))
    return ans


def _eval_runtime(
    task: WDL.Tree.Task,
    env: WDL.Env.Bindings[WDL.Value.Base],
    inputs: WDL.Env.Bindings[WDL.Value.Base],
    call_dir: Path,
    call: str,
) -> dict[str, WDL.Value.Base]:
    """runtime{}/requirements{} values, then ``runtime.*``/``requirements.*`` call-input
    overrides and ``hints.queue`` (miniwdl's _eval_task_runtime order)."""
    stdlib = _stdlib(task, call_dir, outputs=False, trusted=_trusted_paths(env))
    raw: dict[str, WDL.Value.Base] = {}
    for key, expr in task.runtime.items():
        try:
            raw[key] = expr.eval(env, stdlib=stdlib)
        except Exception as exn:
            raise _translate(exn, call, f"runtime.{key}") from exn
    for ns in _RUNTIME_OVERRIDE_NAMESPACES:
        for b in inputs.enter_namespace(ns):
            raw[b.name] = b.value
    for b in inputs.enter_namespace("hints"):
        if b.name == "queue":
            raw["queue"] = b.value
    if _is_wdl12(task):
        for old, new in (("return_codes", "returnCodes"), ("max_retries", "maxRetries")):
            if old in raw:
                raw[new] = raw.pop(old)
    return raw


def _normalize_runtime(
    raw: dict[str, WDL.Value.Base],
    ctx: TaskContext,
    task: WDL.Tree.Task,
    env: WDL.Env.Bindings[WDL.Value.Base],
) -> dict[str, Any]:
    call = ctx.call_name

    def get(key: str, ty: WDL.Type.Base) -> Any:
        v = raw.get(key)
        if v is None or isinstance(v, WDL.Value.Null):
            return None
        try:
            return v.coerce(ty).value
        except Exception as exn:
            raise WdlRuntimeError(
                f"call {call}: invalid runtime.{key}: {v}", call=call, key=key
            ) from exn

    try:
        # image: `container` wins over `docker`; an array offers candidates, miniwdl takes the first
        image_v = raw.get("container", raw.get("docker"))
        if isinstance(image_v, WDL.Value.Array):
            image_v = image_v.value[0] if image_v.value else None
        image = (
            image_v.coerce(WDL.Type.String()).value
            if image_v is not None and not isinstance(image_v, WDL.Value.Null)
            else ctx.default_image
        )
        cpu = bp.vcpus(get("cpu", WDL.Type.Float()))
        memory = bp.memory_mib(get("memory", WDL.Type.String()))
        gpu_v = raw.get("gpu")
        gpu: bool | int | None = None
        if isinstance(gpu_v, WDL.Value.Boolean | WDL.Value.Int):
            gpu = gpu_v.value
        elif gpu_v is not None and not isinstance(gpu_v, WDL.Value.Null):
            raise WdlRuntimeError(f"call {call}: invalid runtime.gpu: {gpu_v}", call=call)
        gpus = bp.gpu_count(
            gpu, get("acceleratorCount", WDL.Type.Int()), get("acceleratorType", WDL.Type.String())
        )
        max_retries = max(0, get("maxRetries", WDL.Type.Int()) or 0)
        preemptible = max(0, get("preemptible", WDL.Type.Int()) or 0)
        rc_v = raw.get("returnCodes")
        return_codes = bp.parse_return_codes(None if rc_v is None else rc_v.json)
        timeout_v = raw.get("timeout")
        timeout = bp.timeout_seconds(
            None if timeout_v is None or isinstance(timeout_v, WDL.Value.Null) else timeout_v.json
        )
        queue_override = get("queue", WDL.Type.String())
        kind, arn = bp.select_queue(
            ctx.queues, gpus=gpus, preemptible=preemptible, override=queue_override
        )
    except bp.BatchParamError as exn:
        raise WdlRuntimeError(f"call {call}: {exn}", call=call) from exn
    disks = raw.get("disks")
    return {
        "docker": image,
        "cpu": cpu,
        "memory_mib": memory,
        "gpus": gpus,
        "maxRetries": max_retries,
        "preemptible": preemptible,
        "returnCodes": return_codes,
        "timeout_s": timeout,
        "disks": None if disks is None else disks.json,
        "queue": kind,
        "queue_arn": arn,
        "env": _env_decls(task, env),
        "values": {k: v.json for k, v in raw.items()},
    }


def _env_decls(task: WDL.Tree.Task, env: WDL.Env.Bindings[WDL.Value.Base]) -> dict[str, str]:
    """WDL 1.2 ``env`` declarations become environment variables of the job."""
    ans: dict[str, str] = {}
    for decl in _decls(task):
        decor = getattr(decl, "decor", None) or {}
        if decor.get("env", False) is True and env.has_binding(decl.name):
            v = env[decl.name]
            if isinstance(v, WDL.Value.String):  # includes File, Directory
                ans[decl.name] = v.value
            else:
                ans[decl.name] = json.dumps(v.json)
    return ans


def _is_wdl12(task: WDL.Tree.Task) -> bool:
    version = task.effective_wdl_version
    return version not in ("draft-2", "1.0", "1.1")


def _task_struct(
    task: WDL.Tree.Task,
    call: str,
    runtime: dict[str, Any],
    return_code: int | None = None,
) -> WDL.Value.Base:
    """WDL 1.2's ``task`` runtime-info struct (requested resources; attempt 0)."""
    meta, parameter_meta = adapter.task_meta_json(task)
    info: dict[str, Any] = {
        "name": task.name,
        "id": call,
        "container": runtime.get("docker"),
        "cpu": float(runtime.get("cpu", bp.DEFAULT_CPU)),
        "memory": int(runtime.get("memory_mib", bp.DEFAULT_MEMORY_MIB)) * bp.MIB,
        "gpu": [],
        "fpga": [],
        "disks": {},
        "attempt": 0,
        "end_time": None,
        "meta": meta,
        "parameter_meta": parameter_meta,
    }
    output_section = return_code is not None
    if output_section:
        info["return_code"] = return_code
    ty = task.task_runtime_info_struct_type(output_section=output_section)
    return WDL.Value.from_json(ty, info)


def _eval_command(
    task: WDL.Tree.Task,
    env: WDL.Env.Bindings[WDL.Value.Base],
    call_dir: Path,
    call: str,
) -> str:
    """miniwdl's command interpolation (placeholders, ~{}/${}, sep/true/false/default options,
    common-indentation removal)."""
    stdlib = _stdlib(task, call_dir, outputs=False, trusted=_trusted_paths(env))
    assert isinstance(task.command, WDL.Expr.TaskCommand)
    try:
        return str(task.command.eval(env, stdlib, dedent=True).value)
    except Exception as exn:
        raise _translate(exn, call, "command") from exn


def _build_job(ctx: TaskContext, call_dir: Path, runtime: dict[str, Any]) -> dict[str, Any]:
    definition = bp.ensure_job_definition(ctx.job_definitions, runtime["docker"], ctx.mount)
    environment = [{"Name": "TMPDIR", "Value": _scratch_base(ctx)}]
    if ctx.mount.get("scratch"):  # the instance's scratch volume, shared by its jobs
        environment.append({"Name": "WDL2SFN_SHARED_SCRATCH", "Value": "1"})
    environment += [{"Name": k, "Value": v} for k, v in sorted(runtime["env"].items())]
    return {
        "name": ctx.job_name,
        "queue": runtime["queue_arn"],
        "definition": definition,
        "command": [
            "bash",
            "-c",
            wrapper_script(call_dir, runtime["returnCodes"], ctx.job_name),
        ],
        "resources": bp.resource_requirements(
            runtime["cpu"], runtime["memory_mib"], runtime["gpus"]
        ),
        "environment": environment,
        "retry": bp.retry_strategy(
            runtime["queue"],
            preemptible=runtime["preemptible"],
            max_retries=runtime["maxRetries"],
        ),
        "timeout": {"AttemptDurationSeconds": runtime["timeout_s"]},
    }


def _scratch_base(ctx: TaskContext) -> str:
    """Base of the job's TMPDIR: on AWS the instance's scratch volume when the stack has one (else
    the container's /tmp); locally the system temp directory, unless that lies inside the store
    (then /tmp)."""
    if ctx.mount:
        return str(ctx.mount.get("scratch") or "/tmp")
    base = os.path.realpath(tempfile.gettempdir())
    root = os.path.realpath(ctx.store_root)
    if base == root or base.startswith(root + os.sep):
        return "/tmp"
    return base


def wrapper_script(call_dir: Path, return_codes: str | int | list[int], job_name: str) -> str:
    """The job's ``bash -c`` script.

    Runs ``bash ../command`` in a fresh ``<call_dir>/work`` with stdout to ``stdout.txt`` and
    stderr to ``stderr.txt`` (appended across attempts) -- and also to the job's own log
    (CloudWatch) when running under AWS Batch, unless WDL2SFN_NO_TEE says no one reads that log. It records the
    command's real exit status in ``<call_dir>/rc`` and exits 0 when ``returnCodes`` allows the
    status, else with the status (1 when a disallowed status is 0), so Batch retries only real
    failures. TMPDIR is the container's own scratch; when WDL2SFN_SHARED_SCRATCH says several
    jobs share it (a host volume), the job gets a subdirectory of its own.

    Every process costs milliseconds on a busy host, so the script spawns few: bash, mkdir, the
    command (plus tee, mkdir and rm only where needed: prepare leaves an empty work/ behind, so a
    first attempt needs neither). Needs bash, mkdir and rm.
    """
    d = shlex.quote(str(call_dir))
    if return_codes == "*":
        allowed = "exit 0"
    else:
        codes = return_codes if isinstance(return_codes, list) else [return_codes]
        pattern = "|".join(str(int(c)) for c in codes) if codes else "__none__"
        allowed = f'case "$rc" in {pattern}) exit 0 ;; esac\n[ "$rc" -eq 0 ] && exit 1\nexit "$rc"'
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", job_name)
    return f"""set +e
cd {d} || exit 97
shopt -s nullglob dotglob
left=(work/*)
if [ ! -d work ] || [ -e rc ] || [ ${{#left[@]}} -gt 0 ]; then
  rm -rf rc work 2>/dev/null
  mkdir -p work
fi
shopt -u nullglob dotglob
t=
if [ -n "${{WDL2SFN_SHARED_SCRATCH:-}}" ]; then
  t="${{TMPDIR:-/tmp}}/wdl2sfn.{safe}.$$"
  mkdir -p "$t" 2>/dev/null && export TMPDIR="$t"
fi
cd work || exit 97
if [ -n "${{AWS_BATCH_JOB_ID:-}}" ] && [ -z "${{WDL2SFN_NO_TEE:-}}" ]; then
  {{ bash ../command 2>&1 >&3 3>&- | tee -a ../stderr.txt >&2 3>&-; rc=${{PIPESTATUS[0]}}; }} 3> ../stdout.txt
else
  bash ../command > ../stdout.txt 2>> ../stderr.txt
  rc=$?
fi
printf '%s\\n' "$rc" > ../rc
if [ -n "$t" ]; then cd .. && rm -rf "$t" 2>/dev/null; fi
{allowed}
"""


# ================================================================ the StdLib (paths policy)


def _stdlib(
    task: WDL.Tree.Task,
    call_dir: Path,
    *,
    outputs: bool,
    trusted: set[str],
) -> WDL.StdLib.Base:
    """A StdLib for this call: write_* into ``<call_dir>/write_/`` under content-addressed names
    (so re-evaluation is byte-identical); read_* confined to the call directory and its inputs;
    in the output section stdout()/stderr()/glob() and paths relative to ``work/``."""
    cdir = str(call_dir)
    work = os.path.join(cdir, "work")
    write_dir = os.path.join(cdir, "write_")
    version = task.effective_wdl_version
    source_dir = getattr(task, "source_dir", "") or ""
    wdl12 = _is_wdl12(task)

    def devirtualize(filename: str) -> str:
        directory = filename.endswith("/")
        path = filename.rstrip("/") if directory else filename
        if not os.path.isabs(path):
            if outputs:
                path = os.path.normpath(os.path.join(work, path))
            elif wdl12 and source_dir:
                path = os.path.normpath(os.path.join(source_dir, path))
            else:
                raise WdlInputError(f"relative path {filename!r} used before the command ran")
        if outputs:
            _check_output_path(path, cdir, trusted, filename, relative=not os.path.isabs(filename))
        elif not (
            os.path.abspath(path).startswith(cdir + os.sep)
            or os.path.abspath(path) in trusted
            or (wdl12 and source_dir and adapter.path_really_within(path, source_dir))
        ):
            raise WdlInputError(f"task inputs attempted to use a non-input path {filename}")
        if not (os.path.isdir(path) if directory else os.path.isfile(path)):
            raise (WdlOutputError if outputs else WdlInputError)(
                f"function was passed non-existent file {filename}"
            )
        return path

    def virtualize(filename: str) -> str:
        # rename the temp file to a name derived from its content: deterministic, idempotent
        import hashlib

        with open(filename, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:32]
        final = os.path.join(write_dir, digest)
        if os.path.isfile(final):
            os.unlink(filename)
        else:
            os.replace(filename, final)
        return final

    def resolve_relative(filename: str) -> str:
        if outputs or os.path.isabs(filename) or "://" in filename:
            return filename
        if wdl12 and source_dir:
            return os.path.normpath(os.path.join(source_dir, filename))
        return filename

    extra: dict[str, tuple[list[WDL.Type.Base], WDL.Type.Base, Callable[..., Any]]] = {}
    if outputs:
        extra["stdout"] = (
            [],
            WDL.Type.File(),
            lambda: WDL.Value.File(os.path.join(cdir, "stdout.txt")),
        )
        extra["stderr"] = (
            [],
            WDL.Type.File(),
            lambda: WDL.Value.File(os.path.join(cdir, "stderr.txt")),
        )

        def glob_fn(pattern: WDL.Value.Base) -> WDL.Value.Base:
            pat = str(pattern.coerce(WDL.Type.String()).value)
            if not pat:
                raise WdlOutputError("empty glob() pattern")
            if pat.startswith("/"):
                raise WdlOutputError("glob() pattern must be relative to task working directory")
            if pat.startswith("..") or "/.." in pat:
                raise WdlOutputError("glob() pattern must not use .. uplevels")
            if pat.startswith("./"):
                pat = pat[2:]
            found = sorted(p for p in globlib.glob(os.path.join(work, pat)) if os.path.isfile(p))
            for p in found:
                _check_output_path(p, cdir, trusted, p, relative=True)
            return WDL.Value.Array(WDL.Type.File(), [WDL.Value.File(p) for p in found])

        extra["glob"] = ([WDL.Type.String()], WDL.Type.Array(WDL.Type.File()), glob_fn)

    return adapter.HookedStdLib(
        version,
        write_dir=write_dir,
        devirtualize=devirtualize,
        virtualize=virtualize,
        resolve_relative=resolve_relative,
        join_paths_dir=work,
        extra=extra,
    )


def _check_output_path(
    path: str, call_dir: str, trusted: set[str], shown: str, *, relative: bool = False
) -> None:
    """Containment, as miniwdl's: an output path must resolve (after symlinks) inside the task's
    working directory ``work/``, or be one of the call's own (localized) inputs. An absolute
    path may also be what stdout()/stderr() return, a file the output section wrote (write_*)
    or a file inside an input Directory. A relative path naming the rest of the call folder
    (``../stdout.txt``, ``../command``) or beyond is not the task's to return."""
    ap = os.path.abspath(path)
    if ap in trusted or os.path.realpath(ap) in trusted:
        return
    if adapter.path_really_within(ap, os.path.join(call_dir, "work")):
        return
    if relative:
        raise WdlOutputError(
            f"task output path resolves outside the task's work directory: {shown}"
        )
    if adapter.path_really_within(ap, os.path.join(call_dir, "write_")):
        return
    if os.path.realpath(ap) in _std_files(call_dir):
        return
    if any(os.path.isdir(t) and adapter.path_really_within(ap, t) for t in trusted):
        return
    raise WdlOutputError(f"task output path resolves outside the task's work directory: {shown}")


def _std_files(call_dir: str) -> set[str]:
    real = os.path.realpath(call_dir)
    return {os.path.join(real, "stdout.txt"), os.path.join(real, "stderr.txt")}


# ================================================================ collect


def collect_task(task: WDL.Tree.Task, ctx: TaskContext) -> WDL.Env.Bindings[WDL.Value.Base]:
    """Check the job's exit status, evaluate the outputs, write ``outputs.json`` (and the call
    cache entry). Raises WdlTaskFailed / WdlOutputError (and writes error.json) on failure."""
    call_dir = Path(ctx.call_dir).absolute()
    try:
        return _collect(task, ctx, call_dir)
    except WdlError as exn:
        if not isinstance(exn, WdlTaskFailed):
            exn = WdlTaskFailed(str(exn), **{**exn.info, "cause": type(exn).__name__})
        _write_error(call_dir, exn)
        raise exn from exn.__cause__


def _read_rc(call_dir: Path) -> int | None:
    try:
        return int((call_dir / "rc").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _collect(
    task: WDL.Tree.Task, ctx: TaskContext, call_dir: Path
) -> WDL.Env.Bindings[WDL.Value.Base]:
    runtime = json.loads((call_dir / "runtime.json").read_text())
    rc = _read_rc(call_dir)
    if rc is None:
        raise _task_failed(
            ctx, call_dir, None, "the job did not run to completion (no exit status recorded)"
        )
    if not bp.returncode_allowed(rc, runtime["returnCodes"]):
        raise _task_failed(ctx, call_dir, rc, None)

    env = WDL.values_from_json(
        json.loads((call_dir / "task_env.json").read_text()), _decl_types(task)
    )
    if _is_wdl12(task):
        env = env.bind("task", _task_struct(task, ctx.call_name, runtime, return_code=rc))
    outputs = _eval_outputs(task, env, call_dir, ctx.call_name)

    write_json_atomic(call_dir / "outputs.json", WDL.values_to_json(outputs))
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


def _eval_outputs(
    task: WDL.Tree.Task,
    env: WDL.Env.Bindings[WDL.Value.Base],
    call_dir: Path,
    call: str,
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """miniwdl's _eval_task_outputs: each output in dependency order; File/Directory paths
    relative to work/; a missing path is None (an error when the type is not optional)."""
    cdir = str(call_dir)
    work = os.path.join(cdir, "work")
    trusted = _trusted_paths(env)
    stdlib = _stdlib(task, call_dir, outputs=True, trusted=trusted)
    outputs: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    missing: list[str] = []  # paths an output names that do not exist (for the message)
    for decl in adapter.task_decl_eval_order(list(task.outputs)):
        assert decl.expr is not None
        try:
            v = decl.expr.eval(env, stdlib=stdlib).coerce(decl.type)
        except Exception as exn:
            raise _translate(exn, call, f"output {decl.name}") from exn

        def host_path(w: WDL.Value.File | WDL.Value.Directory, name: str = decl.name) -> str | None:
            directory = isinstance(w, WDL.Value.Directory)
            p = w.value.rstrip("/") if directory else w.value
            relative = not os.path.isabs(p)
            if relative:
                p = os.path.join(work, p)
            p = os.path.normpath(p)
            _check_output_path(p, cdir, trusted, f"{name} = {w.value}", relative=relative)
            if directory:
                if os.path.isfile(p):
                    raise WdlOutputError(
                        f"Directory task output {name} is not a directory: {w.value}"
                    )
                if not os.path.isdir(p):
                    missing.append(p)
                    return None
                _check_directory(p, name)
            else:
                if os.path.isdir(p):
                    raise WdlOutputError(f"File task output {name} is not a file: {w.value}")
                if not os.path.isfile(p):
                    missing.append(p)
                    return None
            return p

        try:
            host_v = WDL.Value.rewrite_paths(v, host_path).coerce(decl.type)
            # later outputs see the value as written (relative paths stay relative, as in
            # miniwdl), with missing paths as None
            env_v = WDL.Value.rewrite_paths(
                v, lambda w: None if host_path(w) is None else w.value
            ).coerce(decl.type)
        except FileNotFoundError:
            where = f": {missing[-1]}" if missing else ""
            raise WdlOutputError(
                f"call {call}: File/Directory path not found in task output {decl.name}{where}",
                call=call,
                output=decl.name,
                path=missing[-1] if missing else None,
            ) from None
        except WdlError as exn:
            raise type(exn)(f"call {call}: {exn}", call=call, output=decl.name) from exn
        env = env.bind(decl.name, env_v)
        outputs = outputs.bind(decl.name, host_v)
    return outputs


def _check_directory(path: str, name: str) -> None:
    """Every symlink inside an output Directory must resolve inside it (miniwdl's rule)."""
    for root, _dirs, files in os.walk(path):
        for fn in files:
            p = os.path.join(root, fn)
            if os.path.islink(p) and (
                not os.path.exists(p) or not adapter.path_really_within(p, path)
            ):
                raise WdlOutputError(f"Directory in output {name} contains unusable symlink")


def read_outputs(task: WDL.Tree.Task, call_dir: Path) -> WDL.Env.Bindings[WDL.Value.Base]:
    """Reload ``<call_dir>/outputs.json`` with the task's output types."""
    data = json.loads((Path(call_dir) / "outputs.json").read_text())
    return WDL.values_from_json(data, task.effective_outputs)


# ================================================================ failures


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 65536))
            data = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _task_failed(
    ctx: TaskContext,
    call_dir: Path,
    rc: int | None,
    reason: str | None,
    **more: Any,
) -> WdlTaskFailed:
    stdout, stderr, command = (call_dir / n for n in ("stdout.txt", "stderr.txt", "command"))
    tail = _tail(stderr)
    head = f"task {ctx.call_name} failed"
    if rc is not None:
        head += f" with exit status {rc}"
    if reason:
        head += f": {reason}"
    lines = [head]
    if tail:
        lines += [f"stderr (last {STDERR_TAIL_LINES} lines):", tail]
    lines += [f"stdout: {stdout}", f"stderr: {stderr}", f"command: {command}"]
    return WdlTaskFailed(
        "\n".join(lines),
        call=ctx.call_name,
        exit_code=rc,
        reason=reason,
        stderr_tail=tail,
        stdout_file=str(stdout),
        stderr_file=str(stderr),
        command_file=str(command),
        dir=str(call_dir),
        **more,
    )


def _write_error(call_dir: Path, exn: WdlError) -> None:
    with contextlib.suppress(OSError):
        write_json_atomic(call_dir / "error.json", exn.error_json())


def _translate(exn: BaseException, call: str, what: str) -> WdlError:
    """A miniwdl evaluation error (possibly wrapping one of ours) as a Wdl* error."""
    inner: BaseException | None = exn
    while inner is not None:
        if isinstance(inner, WdlError):
            return type(inner)(f"call {call}: {what}: {inner}", **{**inner.info, "call": call})
        inner = inner.__cause__
    err = from_miniwdl(exn, call)
    return type(err)(f"call {call}: {what}: {exn}", **err.info)


def _get(d: dict[str, Any] | None, *names: str) -> Any:
    """Case-insensitive lookup (Step Functions gives PascalCase, boto3 camelCase)."""
    if not isinstance(d, dict):
        return None
    lower = {k.lower(): v for k, v in d.items()}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def recover_task(task: WDL.Tree.Task, ctx: TaskContext, error: dict[str, Any]) -> dict[str, Any]:
    """Failure path after the Batch job failed. Returns an on-demand JOB when a spot job lost its
    host (after its spot attempts) or failed with maxRetries left; otherwise raises WdlTaskFailed."""
    call_dir = Path(ctx.call_dir).absolute()
    cause_raw = error.get("Cause", error.get("cause"))
    desc: dict[str, Any] = {}
    if isinstance(cause_raw, dict):
        desc = cause_raw
    elif isinstance(cause_raw, str):
        with contextlib.suppress(ValueError):
            parsed = json.loads(cause_raw)
            if isinstance(parsed, dict):
                desc = parsed
    attempts = _get(desc, "Attempts") or []
    last = attempts[-1] if attempts and isinstance(attempts[-1], dict) else {}
    status_reason = _get(last, "StatusReason") or _get(desc, "StatusReason")
    container = _get(desc, "Container") or {}
    last_container = _get(last, "Container") or {}
    reason = _get(last_container, "Reason") or _get(container, "Reason")
    exit_code = _get(last_container, "ExitCode")
    if exit_code is None:
        exit_code = _get(container, "ExitCode")
    log_stream = _get(last_container, "LogStreamName") or _get(container, "LogStreamName")

    try:
        job = json.loads((call_dir / "job.json").read_text())
        runtime = json.loads((call_dir / "runtime.json").read_text())
    except (OSError, ValueError):
        job, runtime = None, {}
    queue = _get(desc, "JobQueue") or (job or {}).get("queue")
    spot_arn = ctx.queues.get("spot")
    on_spot = bool(queue) and (
        queue == spot_arn or runtime.get("queue_arn") == queue and runtime.get("queue") == "spot"
    )
    rc = _read_rc(call_dir)

    if job is not None and on_spot and job.get("queue") != ctx.queues.get("cpu"):
        max_retries = int(runtime.get("maxRetries", 0))
        host_lost = bp.is_host_termination(status_reason)
        if host_lost or max_retries > 0:
            od = dict(job)
            od["queue"] = ctx.queues["cpu"]
            # a host loss gets the full 1 + maxRetries; a real failure on spot already used one
            od["retry"] = bp.retry_strategy(
                "cpu", max_retries=max_retries if host_lost else max_retries - 1
            )
            with contextlib.suppress(FileNotFoundError):
                (call_dir / "rc").unlink()
            write_json_atomic(call_dir / "job.json", od)
            return od

    code = rc if rc is not None else (exit_code if isinstance(exit_code, int) else None)
    why = status_reason
    if reason and reason != status_reason:
        why = f"{status_reason}; {reason}" if status_reason else reason
    if (
        code is not None
        and rc is not None
        and bp.returncode_allowed(rc, runtime.get("returnCodes", 0))
    ):
        why = why or "the Batch job failed"
    elif code is not None:
        why = None if not why or why.startswith("Essential container") else why
    else:
        why = why or str(error.get("Error") or "the Batch job failed")
    exn = _task_failed(
        ctx,
        call_dir,
        code,
        why,
        status_reason=status_reason,
        log_stream=log_stream,
        queue=queue,
    )
    _write_error(call_dir, exn)
    raise exn
