"""The one adapter between wdl2sfn and miniwdl.

Every use of miniwdl's private helpers (anything under ``WDL.runtime`` or a name starting with an
underscore) goes through this module, so a miniwdl upgrade touches one file. Public API
(``WDL.load``, ``WDL.Tree``, ``WDL.Value``, ``WDL.Env``, ``WDL.StdLib.Base``) may be used directly.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import WDL

from .parser_cache import cache_parser_tables

# ---------------------------------------------------------------- loading and the typed tree

LOAD_RECURSION_LIMIT = 20_000


class SourceError(WDL.Error.ImportError):
    """A WDL file that cannot be read as a document: not UTF-8, a directory, a circular import.

    A subclass of miniwdl's ImportError (so callers that catch bad WDL catch it too) whose
    message is the whole story, location included: ``FILE: not UTF-8 (byte 0xE9 at line 2)``.
    """

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.pos = None  # type: ignore[assignment]


def load(path: str, search: list[str] | None = None, check_quant: bool = True) -> WDL.Tree.Document:
    """Load and type-check a WDL document with its imports (raises WDL.Error.* on bad WDL,
    SourceError for a file that is not a readable UTF-8 document or for an import cycle);
    `search`: more folders to look for imports in (miniwdl's -p/--path); `check_quant=False`
    is miniwdl's `--no-quant-check` (T? accepted where T is expected)."""
    if os.path.isdir(path):
        raise SourceError(f"{path}: is a directory, not a WDL file")
    cache_parser_tables()
    limit = sys.getrecursionlimit()
    # miniwdl's parser and walkers recurse once per nesting level (its own CLI lifts the
    # limit to 1,000,000); lift it while loading, bounded, so what `miniwdl check` accepts loads
    sys.setrecursionlimit(max(limit, LOAD_RECURSION_LIMIT))
    try:
        return WDL.load(
            path, path=list(search or []), check_quant=check_quant, read_source=_strict_reader()
        )
    except RecursionError:
        raise SourceError(
            f"{path}: nested too deeply to load (scatter/if sections or expressions nested"
            f" past Python's recursion limit of {LOAD_RECURSION_LIMIT:,})"
        ) from None
    except WDL.Error.ImportError as exn:
        inner = _innermost_source_error(exn)
        if inner is not None and inner is not exn:
            raise inner from None
        raise
    finally:
        sys.setrecursionlimit(limit)


def _innermost_source_error(exn: BaseException) -> SourceError | None:
    """miniwdl wraps an import's failure in "Failed to import X" at every level: dig out ours."""
    found = None
    seen: BaseException | None = exn
    while seen is not None:
        if isinstance(seen, SourceError):
            found = seen
        seen = seen.__cause__
    return found


def _strict_reader() -> Callable[[str, list[str], Any], Awaitable[Any]]:
    """miniwdl's reader, but bytes are decoded strictly (a Latin-1 byte is an error naming the
    byte and its line, not a UnicodeDecodeError traceback) and an import that is already being
    loaded further up the chain is reported as a cycle with the whole chain."""
    importer_of: dict[str, str | None] = {}

    async def read(uri: str, path: list[str], importer: Any) -> Any:
        abspath = await WDL.Tree.resolve_file_import(uri, path, importer)
        parent = importer.pos.abspath if importer is not None else None
        _check_cycle(abspath, parent, importer_of)
        importer_of[abspath] = parent
        with open(abspath, "rb") as f:
            data = f.read()
        shown = uri if importer is None else abspath  # the main file as the user named it
        return WDL.Tree.ReadSourceResult(source_text=_decode(data, shown), abspath=abspath)

    return read


def _check_cycle(abspath: str, parent: str | None, importer_of: dict[str, str | None]) -> None:
    chain: list[str] = []
    at = parent
    while at is not None:
        chain.append(at)
        if at == abspath:
            names = [os.path.basename(p) for p in reversed(chain)] + [os.path.basename(abspath)]
            raise SourceError(f"{parent}: circular import: {' → '.join(names)}")
        at = importer_of.get(at)


def _decode(data: bytes, shown: str) -> str:
    try:  # universal newlines, as miniwdl's own reader (text mode) gives them
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exn:
        line = data.count(b"\n", 0, exn.start) + 1
        raise SourceError(
            f"{shown}: not UTF-8 (byte 0x{data[exn.start]:02X} at line {line})"
        ) from None


# ---------------------------------------------------------------- task-level run-time helpers
# (task_runner/task/, task_runner/cache.py: append below)


def parse_byte_size(text: str) -> int:
    """Bytes in a size string as miniwdl reads ``runtime.memory`` ("4 GiB", "4G" = 4e9, "2000")."""
    from WDL._util import parse_byte_size as _parse_byte_size

    return int(_parse_byte_size(text))


def path_really_within(path: str, directory: str) -> bool:
    """After resolving symlinks, is ``path`` equal to or nested within ``directory``?"""
    from WDL._util import path_really_within as _path_really_within

    return bool(_path_really_within(path, directory))


def task_decl_eval_order(decls: list[WDL.Tree.Decl]) -> list[WDL.Tree.Decl]:
    """Task declarations in dependency (evaluation) order, as miniwdl's task runner orders them."""
    from WDL.runtime.task import _task_decl_eval_order

    return list(_task_decl_eval_order(decls))


def call_cache_key(task: WDL.Tree.Task, inputs: WDL.Env.Bindings[WDL.Value.Base]) -> str:
    """miniwdl's call-cache key ``<task name>/<task digest>/<inputs digest>`` (same keying as
    ``miniwdl run``, so entries are recognisable; the entry format is wdl2sfn's own)."""
    from WDL.runtime.cache import call_cache_key as _call_cache_key

    return str(_call_cache_key(task.name, task.digest, inputs))


def task_meta_json(task: WDL.Tree.Task) -> tuple[object, object]:
    """The task's meta and parameter_meta as JSON (for WDL 1.2's ``task`` runtime-info struct)."""
    from WDL.Expr import _meta_value_to_json

    return _meta_value_to_json(task.meta or {}), _meta_value_to_json(task.parameter_meta or {})


def command_uses_task_attempt(task: WDL.Tree.Task) -> bool:
    """Does the command read WDL 1.2's ``task.attempt``? Then each retry runs the command
    evaluated with its own attempt number (miniwdl re-evaluates it on retry, by this test)."""
    from WDL.runtime.task import _task_command_uses_task_attempt

    assert isinstance(task.command, WDL.Expr.TaskCommand)
    return bool(_task_command_uses_task_attempt(task.command))


def is_output_error(exn: BaseException) -> bool:
    """True for miniwdl's ``WDL.runtime.error.OutputError``."""
    from WDL.runtime.error import OutputError

    return isinstance(exn, OutputError)


class HookedStdLib(WDL.StdLib.Base):
    """A ``WDL.StdLib.Base`` whose file-system hooks (miniwdl's underscore-named extension points)
    are plain callables, so the task runner's path policy lives outside this adapter:

    - ``devirtualize(filename) -> host path`` for read_*/size() (may raise to forbid a path);
    - ``virtualize(host path) -> File value`` for files written by write_* into ``write_dir``;
    - ``resolve_relative(filename) -> path`` for File/Directory values used by operators;
    - ``join_paths_dir``: the directory join_paths() resolves relative results against;
    - ``extra``: name -> (argument types, return type, implementation) static functions added or
      replaced (stdout/stderr/glob in a task's output section).
    """

    def __init__(
        self,
        wdl_version: str,
        *,
        write_dir: str,
        devirtualize: Callable[[str], str],
        virtualize: Callable[[str], str],
        resolve_relative: Callable[[str], str],
        join_paths_dir: str,
        extra: dict[str, tuple[list[WDL.Type.Base], WDL.Type.Base, Callable[..., Any]]]
        | None = None,
    ) -> None:
        super().__init__(wdl_version, write_dir=write_dir)
        self._hook_devirtualize = devirtualize
        self._hook_virtualize = virtualize
        self._hook_resolve_relative = resolve_relative
        self._hook_join_paths_dir = join_paths_dir
        _strict_write_json(self)
        for name, (arg_types, return_type, fn) in (extra or {}).items():
            setattr(self, name, WDL.StdLib.StaticFunction(name, arg_types, return_type, fn))

    def _devirtualize_filename(self, filename: str) -> str:
        return self._hook_devirtualize(filename)

    def _virtualize_filename(self, filename: str) -> str:
        return self._hook_virtualize(filename)

    def _resolve_source_relative_path(self, filename: str) -> str:
        return self._hook_resolve_relative(filename)

    def _join_paths_default_directory(self) -> str:
        return self._hook_join_paths_dir


# ---------------------------------------------------------------- overrides of miniwdl 1.16
# Each is a named, small correction where miniwdl departs from the specification text, listed in
# docs/conformance.md ("Overrides"); WDL semantics otherwise stay miniwdl's.


def _strict_write_json(stdlib: WDL.StdLib.Base) -> None:
    """write_json refuses a Map whose keys are not String (spec "write_json": only
    `Map[String, X]` serializes to a JSON object, and "when serializing compound types, all
    nested types must be serializable or an error is raised"); miniwdl writes `{2: "x"}` as
    `{"2": "x"}`."""
    write = stdlib.write_json.F  # type: ignore[attr-defined]

    def checked(value: WDL.Value.Base) -> WDL.Value.Base:
        _require_json_keys(value)
        result: WDL.Value.Base = write(value)
        return result

    stdlib.write_json = WDL.StdLib.StaticFunction(  # type: ignore[attr-defined]
        "write_json", [WDL.Type.Any()], WDL.Type.File(), checked
    )


def _require_json_keys(value: WDL.Value.Base) -> None:
    """Raise InputError naming the type of the first Map, however nested, keyed by non-String."""
    if isinstance(value, WDL.Value.Map):
        key_type = value.type.item_type[0]
        if not isinstance(key_type, WDL.Type.String):
            raise WDL.Error.InputError(
                f"write_json: cannot serialize {value.type} to JSON (only Map[String, X] has a"
                " JSON form; WDL spec, write_json)"
            )
    for child in value.children:
        _require_json_keys(child)


def _placeholder_none_is_empty() -> None:
    """WDL 1.2 "Expression Placeholders": "If an expression within a placeholder evaluates to
    `None`, and either causes the entire placeholder to evaluate to `None` or causes an error,
    then the placeholder is replaced by the empty string." miniwdl 1.16 empties a placeholder
    whose value is None but lets the error through (`~{select_first([foo])}` with `foo` None:
    `select_first() given empty or all-null array`). Only for the adapter's own standard library
    (wdl2sfn's evaluations) and WDL 1.2 and later (1.1 says only "evaluates to `None`")."""
    original = WDL.Expr.Placeholder._eval_impl
    if getattr(original, "wdl2sfn_override", False):
        return

    def eval_impl(
        self: WDL.Expr.Placeholder, env: WDL.Env.Bindings[WDL.Value.Base], stdlib: Any
    ) -> WDL.Value.String:
        try:
            result: WDL.Value.String = original(self, env, stdlib)
            return result
        except WDL.Error.EvalError:
            if isinstance(stdlib, HookedStdLib) and stdlib.wdl_version not in _BEFORE_12:
                if _refers_to_none(self.expr, env, stdlib):
                    return WDL.Value.String("")
            raise

    eval_impl.wdl2sfn_override = True  # type: ignore[attr-defined]
    WDL.Expr.Placeholder._eval_impl = eval_impl  # type: ignore[method-assign]


_BEFORE_12 = ("draft-2", "1.0", "1.1")


def _refers_to_none(
    expr: WDL.Expr.Base, env: WDL.Env.Bindings[WDL.Value.Base], stdlib: Any
) -> bool:
    """Does ``expr`` hold a ``None`` literal or a name whose value is None? Only names and
    literals are looked at (a lookup has no effects; calling a function again could write a
    file), so "an expression within the placeholder evaluates to None" is read for them."""
    if isinstance(expr, WDL.Expr.Null):
        return True
    if isinstance(expr, WDL.Expr.Get) and isinstance(expr.expr, WDL.Expr.Ident):
        try:
            return isinstance(expr.eval(env, stdlib), WDL.Value.Null)
        except WDL.Error.RuntimeError:
            return False
    return any(
        _refers_to_none(child, env, stdlib)
        for child in expr.children
        if isinstance(child, WDL.Expr.Base)
    )


_placeholder_none_is_empty()


# ---------------------------------------------------------------- workflow-level run-time helpers
# (task_runner/workflow_eval.py, task_runner/handlers.py, cli.py)


def coerce_call_inputs(
    callee_inputs: WDL.Env.Bindings[WDL.Tree.Decl], call_inputs: WDL.Env.Bindings[WDL.Value.Base]
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """Coerce a call's inputs to the callee's declared types (inputs with defaults as optional)."""
    from WDL.runtime._workflow_state import _coerce_call_inputs

    return _coerce_call_inputs(callee_inputs, call_inputs)


def gather(
    node: WDL.Tree.Gather, parts: list[WDL.Env.Bindings[WDL.Value.Base]]
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """miniwdl's gather: arrays over scatter shards, or the value / None of a conditional."""
    from WDL.runtime._workflow_state import _gather

    return _gather(node, {f"shard-{i:09d}": env for i, env in enumerate(parts)})


def gather_shards(
    node: WDL.Tree.Gather, parts: Iterable[WDL.Env.Bindings[WDL.Value.Base]]
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """miniwdl's gather over a scatter's shards (`parts` in shard order), taking from each shard
    only the values it gathers: a shard's bindings can be dropped as soon as it is read, so
    gathering 100,000 shards holds the arrays, not 100,000 environments (as `gather` would)."""
    leaf = node.final_referee  # through the Gathers of nested sections
    if isinstance(leaf, WDL.Tree.Call):
        outputs = leaf.effective_outputs.enter_namespace(leaf.name)
        names = [f"{leaf.name}.{b.name}" for b in outputs]
    else:
        names = [leaf.name]
    columns: list[list[WDL.Value.Base]] = [[] for _ in names]
    for env in parts:
        for column, name in zip(columns, names, strict=True):
            column.append(env.resolve(name))
    ans: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    for column, name in zip(columns, names, strict=True):
        item_type = column[0].type if column else WDL.Type.Any()
        ans = ans.bind(name, WDL.Value.Array(item_type, column))
    return ans


def runner_inputs(
    doc: WDL.Tree.Document, inputs: list[str], input_file: str | None
) -> dict[str, Any]:
    """Parse `-i inputs.json` and `name=value` arguments exactly as `miniwdl run` does; returns
    the namespaced inputs JSON (File paths made absolute, existence checked)."""
    from WDL import CLI

    original = CLI.runner_input_json_file
    CLI.runner_input_json_file = _json_inputs_file  # for this call: see _json_inputs_file
    try:
        _, _, as_json = CLI.runner_input(
            doc, inputs, input_file, [], [], check_required=True, downloadable=_downloadable
        )
    finally:
        CLI.runner_input_json_file = original
    return dict(_join_surrogates(dict(as_json)))


def _json_inputs_file(
    available_inputs: WDL.Env.Bindings[WDL.Tree.Decl],
    namespace: str,
    input_file: str | None,
    downloadable: Callable[[str, bool], bool],
    root: str,
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """miniwdl's ``runner_input_json_file`` for the JSON text the CLI passes, read with ``json``:
    miniwdl reads it with a pure-Python YAML parser (32 s for 60,000 paths, 0.1 s with json),
    and checks each File with two ``realpath`` calls to see it is under ``root``, which is "/"
    here (always true). The same values, the same errors."""
    from WDL import CLI

    text = (input_file or "").strip()
    if not text:
        return WDL.Env.Bindings()
    if text == "-":
        text = sys.stdin.read()
    elif not text.startswith("{"):  # a path (the CLI passes the text it read)
        with open(text, encoding="utf-8-sig") as f:
            text = f.read()
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise WDL.Error.InputError("check JSON input; expected top-level object")
    try:
        env = WDL.values_from_json(loaded, available_inputs, namespace=namespace)
    except WDL.Error.InputError as exn:
        raise WDL.Error.InputError("check JSON input; " + str(exn)) from exn

    def check(value: WDL.Value.Base) -> str:
        path, directory = str(value.value), isinstance(value, WDL.Value.Directory)
        if directory or root != "/" or downloadable(path, directory):
            return str(CLI.validate_input_path(path, directory, downloadable, root))
        if not os.path.isfile(path):
            raise WDL.Error.InputError("File not found: " + path)
        return os.path.abspath(path)

    return WDL.Value.rewrite_env_paths(env, check)


def _join_surrogates(value: Any) -> Any:
    """miniwdl reads inputs JSON with a YAML parser, which leaves an escaped surrogate pair
    (``"\\ud83d\\ude00"``) as two lone surrogates: join each pair into the character it encodes
    (as a JSON parser does); a lone surrogate is not text at all and is an input error."""
    if isinstance(value, str):
        if value.isascii():
            return value
        try:
            return value.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise WDL.Error.InputError(
                f"input text {value!r} holds an unpaired UTF-16 surrogate (not a character)"
            ) from None
    if isinstance(value, dict):
        return {_join_surrogates(k): _join_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_join_surrogates(v) for v in value]
    return value


def _downloadable(uri: str, directory: bool) -> bool:
    return uri.startswith(("s3://", "http://", "https://", "gs://"))


# ---------------------------------------------------------------- `check` and `input-template`


def lint_outline(doc: WDL.Tree.Document, title: str) -> tuple[str, int]:
    """miniwdl check's outline with its lint warnings, as text; and how many warnings it shows."""
    import io

    from WDL import CLI, Lint

    Lint.lint(doc)
    shown = [0]
    buf = io.StringIO()
    buf.write(title + "\n")
    CLI.outline(doc, 0, file=buf, show_called=doc.workflow is not None, suppress=set(), shown=shown)
    return buf.getvalue(), shown[0]


def error_excerpts(exn: BaseException) -> str:
    """miniwdl check's report of a load error, as text: every error of a
    MultipleValidationErrors, each with its position, source line and caret, and a syntax
    error's "Expected one of" list (miniwdl's own ``CLI.print_error``, captured)."""
    import contextlib
    import io

    from WDL import CLI

    buf = io.StringIO()
    with contextlib.redirect_stderr(buf):
        CLI.print_error(exn)
    return buf.getvalue()


def input_template(exe: WDL.Tree.Workflow | WDL.Tree.Task) -> dict[str, Any]:
    """miniwdl input-template: the required inputs with placeholder values (namespaced by the
    workflow's name; a lone task's are not, as miniwdl)."""
    from WDL.CLI import _type_to_input_template

    namespace = exe.name + "." if isinstance(exe, WDL.Tree.Workflow) else ""
    return {namespace + b.name: _type_to_input_template(b.value.type) for b in exe.required_inputs}
