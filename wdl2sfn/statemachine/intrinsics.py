"""Amazon States Language intrinsic functions (``"key.$": "States.Format('{}', $.x)"``).

The argument grammar is parsed properly once per expression (and cached): string literals in
single quotes with the escapes ``\\'``, ``\\{``, ``\\}``, ``\\\\``; numbers; ``true``/``false``/
``null``; JSONPaths into the input (``$...``) or the context object (``$$...``), which may
themselves contain brackets, quotes and commas; and nested calls. A malformed expression is a
definition error (AWS rejects it at CreateStateMachine); a failure while evaluating one (wrong
argument types, index out of range, bad JSON...) is ``States.IntrinsicFailure``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import INTRINSIC_FAILURE, DefinitionError, StatesError
from .paths import ContextFn, PathNotFoundError, Template, compile_any_path
from .quotas import to_json

MAX_ARRAY_ITEMS = 1000


@dataclass(frozen=True)
class _Literal:
    """A literal argument; ``raw`` keeps a string's escapes for States.Format's ``\\{``."""

    value: Any
    raw: str | None = None


@dataclass(frozen=True)
class _Path:
    path: str


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[_Literal | _Path | _Call, ...]


_Node = _Literal | _Path | _Call


class _Parser:
    """Recursive-descent parser of one intrinsic invocation."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> DefinitionError:
        return DefinitionError(
            f"invalid intrinsic function {self.text!r} at position {self.pos}: {message}"
        )

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def parse(self) -> _Call:
        self.skip_ws()
        call = self.call()
        self.skip_ws()
        if self.pos != len(self.text):
            raise self.fail("unexpected text after the call")
        return call

    def call(self) -> _Call:
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] == "."
        ):
            self.pos += 1
        name = self.text[start : self.pos]
        if not name.startswith("States.") or name not in FUNCTIONS:
            raise self.fail(f"unknown function {name!r}")
        self.skip_ws()
        self.expect("(")
        args: list[_Node] = []
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
            return _Call(name, tuple(args))
        while True:
            self.skip_ws()
            args.append(self.argument())
            self.skip_ws()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect(")")
            return _Call(name, tuple(args))

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.pos += 1

    def argument(self) -> _Node:
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return _Path(self.path())
        if self.text.startswith("States.", self.pos):
            return self.call()
        return self.scalar()

    def string(self) -> _Literal:
        self.pos += 1
        out: list[str] = []
        raw_start = self.pos
        while True:
            if self.pos >= len(self.text):
                raise self.fail("unterminated string")
            char = self.text[self.pos]
            if char == "\\":
                nxt = self.text[self.pos + 1 : self.pos + 2]
                if nxt not in ("'", "{", "}", "\\"):
                    raise self.fail("open escape backslash")
                out.append(nxt)
                self.pos += 2
                continue
            if char == "'":
                raw = self.text[raw_start : self.pos]
                self.pos += 1
                return _Literal("".join(out), raw)
            out.append(char)
            self.pos += 1

    def path(self) -> str:
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.pos += 1
        return self.text[start : self.pos].rstrip()

    def scalar(self) -> _Literal:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",)":
            self.pos += 1
        token = self.text[start : self.pos].strip()
        try:
            value = json.loads(token)
        except ValueError:
            raise self.fail(f"bad argument {token!r}") from None
        if isinstance(value, (dict, list, str)):
            raise self.fail(f"bad argument {token!r}")
        return _Literal(value)


@lru_cache(maxsize=4096)
def parse_intrinsic(text: str) -> _Call:
    """Parse an intrinsic invocation (cached)."""
    return _Parser(text).parse()


def compile_intrinsic(text: str) -> Template:
    """Compile an intrinsic invocation into (input, context) -> value."""
    call = parse_intrinsic(text)
    return lambda data, context: _evaluate(call, data, context)


def _evaluate(node: _Node, data: Any, context: ContextFn) -> Any:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Path):
        try:
            return compile_any_path(node.path)(data, context)
        except PathNotFoundError:
            raise StatesError(
                INTRINSIC_FAILURE, f"The JSONPath '{node.path}' could not be found in the input"
            ) from None
    args = [_evaluate(arg, data, context) for arg in node.args]
    try:
        if node.name == "States.Format":
            return _format(node, args)
        return FUNCTIONS[node.name](*args)
    except StatesError:
        raise
    except Exception as exc:  # any evaluation problem is an IntrinsicFailure, as on AWS
        raise StatesError(INTRINSIC_FAILURE, f"{node.name}: {exc}") from None


def _fail(message: str) -> StatesError:
    return StatesError(INTRINSIC_FAILURE, message)


def _format(node: _Call, args: list[Any]) -> str:
    """States.Format: replace each unescaped ``{}`` in the template with the next argument."""
    if not args or not isinstance(args[0], str):
        raise _fail("States.Format needs a string template as its first argument")
    first = node.args[0]
    template = first.raw if isinstance(first, _Literal) and first.raw is not None else args[0]
    values = iter(args[1:])
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and i + 1 < len(template):
            out.append(template[i + 1])
            i += 2
            continue
        if template.startswith("{}", i):
            try:
                out.append(_format_value(next(values)))
            except StopIteration:
                raise _fail("States.Format: more {} than arguments") from None
            i += 2
            continue
        out.append(char)
        i += 1
    if next(values, _END) is not _END:
        raise _fail("States.Format: more arguments than {}")
    return "".join(out)


_END = object()


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return to_json(value)


def _int_arg(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(f"{what} must be an integer, got {to_json(value)}")
    if isinstance(value, float) and not value.is_integer():
        raise _fail(f"{what} must be an integer, got {value}")
    return int(value)


def _array_arg(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(f"{what} must be an array, got {to_json(value)}")
    return value


def _string_arg(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _fail(f"{what} must be a string, got {to_json(value)}")
    return value


def _string_to_json(value: Any) -> Any:
    return json.loads(_string_arg(value, "States.StringToJson argument"))


def _array(*values: Any) -> list[Any]:
    return list(values)


def _array_partition(array: Any, size: Any) -> list[list[Any]]:
    items = _array_arg(array, "States.ArrayPartition array")
    chunk = _int_arg(size, "States.ArrayPartition chunk size")
    if chunk <= 0:
        raise _fail("States.ArrayPartition chunk size must be positive")
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _array_contains(array: Any, value: Any) -> bool:
    return value in _array_arg(array, "States.ArrayContains array")


def _array_range(start: Any, end: Any, step: Any) -> list[int]:
    first = _int_arg(start, "States.ArrayRange start")
    last = _int_arg(end, "States.ArrayRange end")
    stride = _int_arg(step, "States.ArrayRange step")
    if stride == 0:
        raise _fail("States.ArrayRange step must not be 0")
    result = list(range(first, last + (1 if stride > 0 else -1), stride))
    if len(result) > MAX_ARRAY_ITEMS:
        raise _fail(f"States.ArrayRange: arrays cannot contain more than {MAX_ARRAY_ITEMS} items")
    return result


def _array_get_item(array: Any, index: Any) -> Any:
    items = _array_arg(array, "States.ArrayGetItem array")
    i = _int_arg(index, "States.ArrayGetItem index")
    if not 0 <= i < len(items):
        raise _fail(f"States.ArrayGetItem: index {i} out of bounds for length {len(items)}")
    return items[i]


def _array_length(array: Any) -> int:
    return len(_array_arg(array, "States.ArrayLength argument"))


def _array_unique(array: Any) -> list[Any]:
    out: list[Any] = []
    seen: set[str] = set()
    for item in _array_arg(array, "States.ArrayUnique argument"):
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _base64_encode(value: Any) -> str:
    text = _string_arg(value, "States.Base64Encode argument")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(value: Any) -> str:
    text = _string_arg(value, "States.Base64Decode argument")
    return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(value: Any, algorithm: Any) -> str:
    text = _string_arg(value, "States.Hash data")
    name = _HASHES.get(_string_arg(algorithm, "States.Hash algorithm"))
    if name is None:
        raise _fail(f"States.Hash: unsupported algorithm {algorithm!r}")
    return hashlib.new(name, text.encode("utf-8")).hexdigest()


def _json_merge(first: Any, second: Any, deep: Any) -> dict[str, Any]:
    if not isinstance(first, dict) or not isinstance(second, dict):
        raise _fail("States.JsonMerge arguments must be objects")
    if deep is not False:
        raise _fail(
            "States.JsonMerge supports only shallow merging: the third argument must be false"
        )
    return {**first, **second}


def _math_random(start: Any, end: Any, seed: Any = None) -> int:
    low = _int_arg(start, "States.MathRandom start")
    high = _int_arg(end, "States.MathRandom end")
    rng = random.Random(_int_arg(seed, "States.MathRandom seed")) if seed is not None else random
    return rng.randrange(low, high) if high > low else low


def _math_add(a: Any, b: Any) -> int:
    return _int_arg(a, "States.MathAdd first argument") + _int_arg(
        b, "States.MathAdd second argument"
    )


def _string_split(value: Any, delimiters: Any) -> list[str]:
    text = _string_arg(value, "States.StringSplit string")
    chars = _string_arg(delimiters, "States.StringSplit delimiter")
    parts = [text]
    for char in chars:
        parts = [piece for part in parts for piece in part.split(char)]
    return [p for p in parts if p]


def _uuid() -> str:
    return str(uuid.uuid4())


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.Format": lambda *a: None,  # handled by _format (needs the raw template)
    "States.StringToJson": _string_to_json,
    "States.JsonToString": to_json,
    "States.Array": _array,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}
