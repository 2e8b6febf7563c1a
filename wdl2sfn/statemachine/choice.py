"""Choice state rules compiled into predicates.

Every comparison operator of the AWS documentation is supported, each also in its ``...Path``
form (the comparand read from the input or context), plus ``And``/``Or``/``Not`` and the type
tests ``IsPresent``, ``IsNull``, ``IsNumeric``, ``IsString``, ``IsBoolean``, ``IsTimestamp``.

Semantics as on AWS: a comparison whose operand has the wrong type is simply false (a string
is never ``NumericEquals``; booleans are not numbers); a ``Variable`` that matches nothing fails
the state with ``States.Runtime`` except under ``IsPresent``; timestamps are RFC 3339 with an
upper-case ``T`` and a ``Z`` or numeric offset; ``StringMatches`` knows only the ``*`` wildcard,
escaped as ``\\*`` (and ``\\\\`` for a backslash).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from .errors import RUNTIME, DefinitionError, StatesError
from .paths import ContextFn, PathNotFoundError, compile_any_path

Predicate = Callable[[Any, ContextFn], bool]

_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp as Step Functions accepts it, or None."""
    if not isinstance(value, str):
        return None
    m = _TIMESTAMP.match(value)
    if m is None:
        return None
    frac = (m.group(2) or "")[:7]
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        return datetime.fromisoformat(m.group(1) + frac + zone)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=1024)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """Translate a StringMatches pattern (``*`` wildcard, ``\\*`` and ``\\\\`` escapes) to a regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _cmp_string(op: str) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        return isinstance(a, str) and isinstance(b, str) and _ORDER[op](a, b)

    return compare


def _cmp_number(op: str) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        return _is_number(a) and _is_number(b) and _ORDER[op](a, b)

    return compare


def _cmp_timestamp(op: str) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        ta, tb = parse_timestamp(a), parse_timestamp(b)
        return ta is not None and tb is not None and _ORDER[op](ta, tb)

    return compare


def _boolean_equals(a: Any, b: Any) -> bool:
    return isinstance(a, bool) and isinstance(b, bool) and a == b


def _string_matches(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and _wildcard(b).fullmatch(a) is not None


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {"BooleanEquals": _boolean_equals}
for _op in _ORDER:
    COMPARISONS["String" + _op] = _cmp_string(_op)
    COMPARISONS["Numeric" + _op] = _cmp_number(_op)
    COMPARISONS["Timestamp" + _op] = _cmp_timestamp(_op)
COMPARISONS["StringMatches"] = _string_matches

TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}


def compile_rule(rule: dict[str, Any]) -> Predicate:
    """Compile one Choice rule (or nested boolean expression) into a predicate."""
    if "And" in rule:
        parts = [compile_rule(r) for r in rule["And"]]
        return lambda data, ctx: all(p(data, ctx) for p in parts)
    if "Or" in rule:
        parts = [compile_rule(r) for r in rule["Or"]]
        return lambda data, ctx: any(p(data, ctx) for p in parts)
    if "Not" in rule:
        inner = compile_rule(rule["Not"])
        return lambda data, ctx: not inner(data, ctx)
    if "Variable" not in rule:
        raise DefinitionError(f"Choice rule without Variable/And/Or/Not: {rule!r}")
    return _compile_data_test(rule)


def _invalid_path(path: str) -> StatesError:
    return StatesError(
        RUNTIME,
        f"Invalid path '{path}': The choice state's condition path references an invalid value.",
    )


def _compile_data_test(rule: dict[str, Any]) -> Predicate:
    """Compile ``{"Variable": ..., <operator>: ...}``."""
    variable: str = rule["Variable"]
    get_var = compile_any_path(variable)
    operators = [
        k
        for k in rule
        if k in COMPARISONS
        or k.removesuffix("Path") in COMPARISONS
        or k in TYPE_TESTS
        or k == "IsPresent"
    ]
    if len(operators) != 1:
        raise DefinitionError(f"Choice rule needs exactly one comparison operator: {rule!r}")
    op = operators[0]
    expected = rule[op]

    def value(data: Any, ctx: ContextFn) -> Any:
        try:
            return get_var(data, ctx)
        except PathNotFoundError:
            raise _invalid_path(variable) from None

    if op == "IsPresent":
        return _compile_is_present(get_var, bool(expected))
    if op in TYPE_TESTS:
        test = TYPE_TESTS[op]
        return lambda data, ctx: test(value(data, ctx)) == bool(expected)
    if op in COMPARISONS:
        compare = COMPARISONS[op]
        return lambda data, ctx: compare(value(data, ctx), expected)
    compare = COMPARISONS[op.removesuffix("Path")]
    get_other = compile_any_path(expected)

    def compare_path(data: Any, ctx: ContextFn) -> bool:
        left = value(data, ctx)
        try:
            right = get_other(data, ctx)
        except PathNotFoundError:
            raise _invalid_path(expected) from None
        return compare(left, right)

    return compare_path


def _compile_is_present(get_var: Callable[[Any, ContextFn], Any], expected: bool) -> Predicate:
    def is_present(data: Any, ctx: ContextFn) -> bool:
        try:
            get_var(data, ctx)
        except PathNotFoundError:
            return not expected
        return expected

    return is_present
