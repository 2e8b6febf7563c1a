"""Payload templates (Parameters, ItemSelector, ResultSelector, BatchInput...): ``key.$`` entries
are JSONPaths, context paths (``$$``) or intrinsic functions, the rest is kept as written.

Why a module of its own: a template dispatches to both the path compiler (``paths``) and the
intrinsic functions (``intrinsics``), and intrinsics read their path arguments through ``paths``;
living here, above both, keeps ``paths -> intrinsics -> paths`` from being an import cycle.
"""

from __future__ import annotations

from typing import Any

from .errors import RUNTIME, DefinitionError, StatesError
from .intrinsics import compile_intrinsic
from .paths import ContextFn, PathNotFoundError, Template, compile_any_path
from .quotas import to_json


def compile_template(template: Any, field: str = "Parameters") -> Template:
    """Compile a payload template (Parameters, ItemSelector, ResultSelector, BatchInput...)."""
    if isinstance(template, dict):
        return _compile_object(template, field)
    if isinstance(template, list):
        items = [compile_template(v, field) for v in template]
        return lambda data, context: [item(data, context) for item in items]
    return lambda data, context: template


def _compile_object(template: dict[str, Any], field: str) -> Template:
    """Compile an object template: ``key.$`` entries are evaluated, others kept (recursively)."""
    entries: list[tuple[str, Template]] = []
    for key, value in template.items():
        if key.endswith(".$"):
            entries.append((key[:-2], _compile_dynamic(key, value)))
        elif isinstance(value, (dict, list)):
            entries.append((key, compile_template(value, field)))
        else:
            entries.append((key, _constant(value)))

    def build(data: Any, context: ContextFn) -> Any:
        return {key: fn(data, context) for key, fn in entries}

    return build


def _constant(value: Any) -> Template:
    return lambda data, context: value


def _compile_dynamic(key: str, expr: Any) -> Template:
    """Compile the value of a ``key.$`` entry: a path, a context path or an intrinsic function."""
    if not isinstance(expr, str):
        raise DefinitionError(f"the value of {key!r} must be a string (a path or intrinsic)")
    if expr.startswith("States."):
        return compile_intrinsic(expr)
    if not expr.startswith("$"):
        raise DefinitionError(f"the value of {key!r} must be a JSONPath or intrinsic: {expr!r}")
    getter = compile_any_path(expr)

    def evaluate(data: Any, context: ContextFn) -> Any:
        try:
            return getter(data, context)
        except PathNotFoundError:
            source = context() if expr.startswith("$$") else data
            raise StatesError(
                RUNTIME,
                f"The JSONPath '{expr}' specified for the field '{key}' could not be found "
                f"in the input '{to_json(source)}'",
            ) from None

    return evaluate
