"""JSONPath input and output processing: InputPath, ResultPath, OutputPath, the context object
``$$``. Payload templates (``.$`` keys, intrinsic functions) build on this in ``templates``.

Why it looks like this: the executor runs thousands of states per second, and jsonpath-ng takes
milliseconds to parse one expression. So every path is compiled once into a small getter and
cached; the common definite paths (``$.a.b[0]``, ``$['a-b']``) never touch jsonpath-ng at all
and only the rest (wildcards, filters, slices, ``..``) go through ``jsonpath_ng.ext``. Payloads
are never deep-copied: templates build new containers, ResultPath copies only the containers on
the path it writes, and nothing here mutates its input.

Error wording follows AWS: a path in a payload template that matches nothing fails the state with
``States.Runtime`` "The JSONPath '$.x' specified for the field 'x.$' could not be found in the
input '...'"; an InputPath/OutputPath that matches nothing with "Invalid path '$.x' : No results
for path: $['x']".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .errors import RESULT_PATH_MATCH_FAILURE, RUNTIME, DefinitionError, StatesError
from .quotas import to_json

#: A callable returning the context object (``$$``); built lazily because few states use it.
ContextFn = Callable[[], Any]
#: A compiled payload template: (effective input, context) -> value.
Template = Callable[[Any, ContextFn], Any]
Getter = Callable[[Any], Any]
Key = str | int

_MISSING = object()
_SIMPLE_TOKEN = re.compile(
    r"""\.(?P<name>[^.\[\]\s*?()@,:'"]+)"""
    r"""|\[(?P<index>-?\d+)\]"""
    r"""|\['(?P<sq>[^'\\]*)'\]"""
    r"""|\["(?P<dq>[^"\\]*)"\]"""
)


class PathNotFoundError(Exception):
    """A definite JSONPath matched nothing in the data."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def simple_keys(path: str) -> list[Key] | None:
    """The keys of a definite path made only of fields and indices, or None if it is not one."""
    if not path.startswith("$"):
        return None
    keys: list[Key] = []
    pos = 1
    while pos < len(path):
        m = _SIMPLE_TOKEN.match(path, pos)
        if m is None:
            return None
        if m.group("name") is not None:
            keys.append(m.group("name"))
        elif m.group("index") is not None:
            keys.append(int(m.group("index")))
        else:
            keys.append(m.group("sq") if m.group("sq") is not None else m.group("dq"))
        pos = m.end()
    return keys


def _walk(data: Any, keys: list[Key], path: str) -> Any:
    """Follow ``keys`` into ``data``; raise PathNotFoundError where a step is missing."""
    cur = data
    for key in keys:
        if isinstance(key, int):
            if type(cur) is list and -len(cur) <= key < len(cur):
                cur = cur[key]
                continue
        elif type(cur) is dict:
            cur = cur.get(key, _MISSING)
            if cur is not _MISSING:
                continue
        raise PathNotFoundError(path)
    return cur


@lru_cache(maxsize=8192)
def compile_path(path: str) -> Getter:
    """Compile a JSONPath (``$...``) into a getter; indefinite paths return the list of matches."""
    if path == "$":
        return _identity
    keys = simple_keys(path)
    if keys is not None:
        return lambda data: _walk(data, keys, path)
    return _compile_general(path)


def _identity(data: Any) -> Any:
    return data


def _compile_general(path: str) -> Getter:
    """Compile a path jsonpath-ng must handle (wildcards, filters, slices, recursive descent)."""
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext import parse

    try:
        expr = parse(path)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise DefinitionError(f"invalid JSONPath {path!r}: {exc}") from exc
    indefinite = any(tok in path for tok in ("*", "..", "?(", ":", ","))

    def get(data: Any) -> Any:
        matches = [m.value for m in expr.find(data)]
        if indefinite:
            return matches
        if not matches:
            raise PathNotFoundError(path)
        return matches[0]

    return get


def is_path(value: Any) -> bool:
    """Whether a string is a JSONPath (input ``$...`` or context ``$$...``)."""
    return isinstance(value, str) and value.startswith("$")


def compile_any_path(path: str) -> Callable[[Any, ContextFn], Any]:
    """Compile a path that may address the input (``$``) or the context object (``$$``)."""
    if path.startswith("$$"):
        getter = compile_path("$" + path[2:])
        return lambda data, context: getter(context())
    getter = compile_path(path)
    return lambda data, context: getter(data)


def describe_missing(path: str) -> str:
    """AWS's rendering of a missing path in InputPath/OutputPath errors: $['a']['b']."""
    keys = simple_keys(path)
    if keys is None:
        return path
    return "$" + "".join(f"[{k}]" if isinstance(k, int) else f"['{k}']" for k in keys)


# ---------------------------------------------------------------- InputPath / OutputPath


def compile_filter_path(definition: dict[str, Any], field: str) -> Callable[[Any, ContextFn], Any]:
    """Compile InputPath/OutputPath: absent means ``$``, JSON null means ``{}``."""
    if field not in definition:
        return lambda data, context: data
    path = definition[field]
    if path is None:
        return lambda data, context: {}
    if not is_path(path):
        raise DefinitionError(f"{field} must be a JSONPath, got {path!r}")
    getter = compile_any_path(path)

    def apply(data: Any, context: ContextFn) -> Any:
        try:
            return getter(data, context)
        except PathNotFoundError:
            raise StatesError(
                RUNTIME, f"Invalid path '{path}' : No results for path: {describe_missing(path)}"
            ) from None

    return apply


# ---------------------------------------------------------------- ResultPath


@lru_cache(maxsize=4096)
def reference_keys(path: str) -> tuple[Key, ...]:
    """The keys of a Reference Path (ResultPath): definite, fields and indices only."""
    keys = simple_keys(path)
    if keys is None:
        raise DefinitionError(f"ResultPath must be a reference path, got {path!r}")
    return tuple(keys)


def compile_result_path(
    definition: dict[str, Any], field: str = "ResultPath"
) -> Callable[[Any, Any], Any]:
    """Compile ResultPath into (raw input, result) -> output; absent is ``$``, null discards."""
    if field not in definition or definition[field] == "$":
        return lambda data, result: result
    path = definition[field]
    if path is None:
        return lambda data, result: data
    keys = reference_keys(path)
    return lambda data, result: set_at(data, keys, result, path)


def set_at(data: Any, keys: tuple[Key, ...], value: Any, path: str) -> Any:
    """Return a copy of ``data`` with ``value`` at ``keys``; copies only the containers on the path."""
    if not keys:
        return value
    key, rest = keys[0], keys[1:]
    if isinstance(key, str):
        if not isinstance(data, dict):
            raise StatesError(
                RESULT_PATH_MATCH_FAILURE,
                f'Unable to apply ResultPath "{path}" to input {to_json(data)}',
            )
        new = dict(data)
        new[key] = set_at(data.get(key, {}), rest, value, path) if rest else value
        return new
    if not isinstance(data, list) or not -len(data) <= key < len(data):
        raise StatesError(
            RESULT_PATH_MATCH_FAILURE,
            f'Unable to apply ResultPath "{path}" to input {to_json(data)}',
        )
    new_list = list(data)
    new_list[key] = set_at(data[key], rest, value, path) if rest else value
    return new_list
