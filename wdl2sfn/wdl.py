"""The one adapter between wdl2sfn and miniwdl.

Every use of miniwdl's private helpers (anything under ``WDL.runtime`` or a name starting with an
underscore) goes through this module, so a miniwdl upgrade touches one file. Public API
(``WDL.load``, ``WDL.Tree``, ``WDL.Value``, ``WDL.Env``, ``WDL.StdLib.Base``) may be used directly.
"""

from __future__ import annotations

import WDL

# ---------------------------------------------------------------- loading and the typed tree


def load(path: str) -> WDL.Tree.Document:
    """Load and type-check a WDL document with its imports (raises WDL.Error.* on bad WDL)."""
    return WDL.load(path, check_quant=True, read_source=WDL.read_source_default)


# ---------------------------------------------------------------- task-level run-time helpers
# (task_runner/task.py, task_runner/cache.py: append below)


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


def is_output_error(exn: BaseException) -> bool:
    """True for miniwdl's ``WDL.runtime.error.OutputError``."""
    from WDL.runtime.error import OutputError

    return isinstance(exn, OutputError)
