"""The state interpreter: what every state shares, and the simple state types.

This module holds the simple state types (Pass, Choice, Wait, Succeed, Fail), and what every
state shares: the Entered/Exited events, the context object, result processing (ResultSelector
-> ResultPath -> OutputPath -> the 256 KiB check) and the Retry/Catch loop. The transition loop
is ``execution.run_machine``; Task, Parallel/Map and Distributed Map live in their own modules;
``kinds`` maps every state type to its runner.

Processing order is AWS's: InputPath, then Parameters (the effective input), the work, then
ResultSelector on the raw result, ResultPath merging it into the *raw* state input, OutputPath.
A Catch puts ``{"Error", "Cause"}`` at the catcher's ResultPath (default ``$``) of the raw input
and skips OutputPath. ``States.Runtime`` causes are prefixed, as AWS does, with "An error
occurred while executing the state 'X' (entered at the event id #N)."
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .choice import parse_timestamp
from .errors import (
    NO_CHOICE_MATCHED,
    RUNTIME,
    ExecutionAbortedError,
    StatesError,
    error_matches,
)
from .execution import Scope
from .history import iso_timestamp
from .model import NumberField, Retrier, State
from .paths import ContextFn, PathNotFoundError
from .quotas import check_payload, to_json

# ---------------------------------------------------------------- shared helpers


def enter(state: State, data: Any, scope: Scope) -> None:
    """Emit the ``<Type>StateEntered`` event."""
    scope.entered = scope.emit(
        state.type + "StateEntered",
        {"name": state.name, "input": to_json(data), "inputDetails": {"truncated": False}},
    )


def leave(state: State, output: Any, scope: Scope, text: str | None = None) -> None:
    """Check the output against the payload quota and emit ``<Type>StateExited``."""
    if text is None:
        text = to_json(output)
        check_payload(text, scope.run.executor.quotas, state.name)
    scope.emit(
        state.type + "StateExited",
        {"name": state.name, "output": text, "outputDetails": {"truncated": False}},
    )


def context_fn(
    scope: Scope, state: State, retry_count: int = 0, item: tuple[int, Any] | None = None
) -> ContextFn:
    """A lazily built context object (``$$``) for one state (and Map item)."""
    cache: list[dict[str, Any]] = []
    entered = time.time()

    def build() -> dict[str, Any]:
        if cache:
            return cache[0]
        ctx = dict(scope.run.context_base)
        ctx["State"] = {
            "EnteredTime": iso_timestamp(entered),
            "Name": state.name,
            "RetryCount": retry_count,
        }
        if item is not None:
            ctx["Map"] = {"Item": {"Index": item[0], "Value": item[1]}}
        cache.append(ctx)
        return ctx

    return build


def effective_input(state: State, data: Any, ctx: ContextFn) -> Any:
    """InputPath then Parameters."""
    value = state.input_path(data, ctx) if state.input_path else data
    if state.parameters is not None:
        value = state.parameters(value, ctx)
    return value


def process_result(
    state: State, data: Any, result: Any, ctx: ContextFn, scope: Scope
) -> tuple[Any, str]:
    """ResultSelector, ResultPath, OutputPath, then the payload check; returns (output, its JSON)."""
    if state.result_selector is not None:
        result = state.result_selector(result, ctx)
    output = state.result_path(data, result) if state.result_path else result
    if state.output_path is not None:
        output = state.output_path(output, ctx)
    text = to_json(output)
    check_payload(text, scope.run.executor.quotas, state.name)
    return output, text


def resolve_number(field: NumberField | None, data: Any, ctx: ContextFn, what: str) -> float | None:
    """The value of a ``X``/``XPath`` field; a bad path or value is States.Runtime."""
    if field is None:
        return None
    if field.value is not None:
        return field.value
    assert field.getter is not None
    try:
        value = field.getter(data, ctx)
    except PathNotFoundError:
        raise StatesError(RUNTIME, f"Invalid path '{field.path}' : No results for path") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise StatesError(
            RUNTIME,
            f"The value of {what}Path '{field.path}' must be a non-negative integer, got {to_json(value)}",
        )
    return float(value)


def sleep(scope: Scope, seconds: float) -> None:
    """Sleep, waking early (ExecutionAbortedError) when the scope is aborted."""
    if seconds <= 0:
        scope.token.check()
        return
    clock = scope.run.executor.clock
    if clock is not time and hasattr(clock, "sleep"):
        clock.sleep(seconds)
        scope.token.check()
        return
    if scope.token.event.wait(seconds):
        raise ExecutionAbortedError("aborted")


def retry_delay(retrier: Retrier, attempt: int) -> float:
    """Seconds before retry number ``attempt`` (0-based) of a retrier."""
    delay = retrier.interval_seconds * (retrier.backoff_rate**attempt)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter == "FULL":
        delay = random.uniform(0, delay)
    return delay


Attempt = Callable[[int], tuple[Any, str]]


def with_retry_and_catch(
    state: State, data: Any, scope: Scope, attempt: Attempt
) -> tuple[str | None, Any]:
    """Run ``attempt(retry_count)`` under the state's Retry and Catch rules and emit the exit event.

    The first retrier whose ErrorEquals matches applies; once its MaxAttempts are spent the error
    goes to the catchers (AWS: a retrier's count spans the whole state execution)."""
    counts = [0] * len(state.retriers)
    retries = 0
    while True:
        try:
            output, text = attempt(retries)
        except StatesError as err:
            index = next(
                (
                    i
                    for i, r in enumerate(state.retriers)
                    if error_matches(r.error_equals, err.error)
                ),
                None,
            )
            if index is not None and counts[index] < state.retriers[index].max_attempts:
                delay = retry_delay(state.retriers[index], counts[index])
                counts[index] += 1
                retries += 1
                sleep(scope, delay)
                continue
            return _catch(state, data, scope, err)
        leave(state, output, scope, text)
        return state.next, output


def _catch(state: State, data: Any, scope: Scope, err: StatesError) -> tuple[str | None, Any]:
    """Route an error to the first matching catcher, or re-raise it."""
    for catcher in state.catchers:
        if error_matches(catcher.error_equals, err.error):
            error_output: dict[str, Any] = {"Error": err.error}
            if err.cause is not None:
                error_output["Cause"] = err.cause
            output = catcher.result_path(data, error_output)
            leave(state, output, scope)
            return catcher.next, output
    raise err


# ---------------------------------------------------------------- simple state types


def run_pass(state: State, data: Any, scope: Scope) -> tuple[str | None, Any]:
    """Pass: Result (or the effective input) placed by ResultPath."""
    enter(state, data, scope)
    ctx = context_fn(scope, state)
    result = state.result if state.has_result else effective_input(state, data, ctx)
    output = state.result_path(data, result) if state.result_path else result
    if state.output_path is not None:
        output = state.output_path(output, ctx)
    leave(state, output, scope)
    return (None if state.end else state.next), output


def run_choice(state: State, data: Any, scope: Scope) -> tuple[str | None, Any]:
    """Choice: the first matching rule's Next, else Default, else States.NoChoiceMatched."""
    enter(state, data, scope)
    ctx = context_fn(scope, state)
    value = state.input_path(data, ctx) if state.input_path else data
    target = next((nxt for predicate, nxt in state.choices if predicate(value, ctx)), state.default)
    if target is None:
        raise StatesError(
            NO_CHOICE_MATCHED, f"No Choice Rule matched and no Default in state '{state.name}'"
        )
    output = state.output_path(value, ctx) if state.output_path else value
    leave(state, output, scope)
    return target, output


def run_wait(state: State, data: Any, scope: Scope) -> tuple[str | None, Any]:
    """Wait: Seconds(Path) or Timestamp(Path); interruptible by abort."""
    enter(state, data, scope)
    ctx = context_fn(scope, state)
    value = state.input_path(data, ctx) if state.input_path else data
    seconds = _wait_seconds(state, value, ctx, scope)
    try:
        sleep(scope, seconds)
    except ExecutionAbortedError:
        _emit_quietly(scope, "WaitStateAborted")
        raise
    output = state.output_path(value, ctx) if state.output_path else value
    leave(state, output, scope)
    return (None if state.end else state.next), output


def _wait_seconds(state: State, value: Any, ctx: ContextFn, scope: Scope) -> float:
    if state.wait_seconds is not None:
        return resolve_number(state.wait_seconds, value, ctx, "Seconds") or 0.0
    stamp: Any = state.wait_timestamp
    if state.wait_timestamp_path is not None:
        try:
            stamp = state.wait_timestamp_path(value, ctx)
        except PathNotFoundError:
            raise StatesError(RUNTIME, f"Invalid path '{state.raw['TimestampPath']}'") from None
    when = parse_timestamp(stamp)
    if when is None:
        raise StatesError(RUNTIME, f"The Timestamp value {to_json(stamp)} is not a valid timestamp")
    now = datetime.fromtimestamp(scope.run.executor.clock.time(), tz=UTC)
    return max(0.0, (when - now).total_seconds())


def run_succeed(state: State, data: Any, scope: Scope) -> tuple[str | None, Any]:
    """Succeed: ends this machine (or branch, or iteration) successfully."""
    enter(state, data, scope)
    ctx = context_fn(scope, state)
    value = state.input_path(data, ctx) if state.input_path else data
    output = state.output_path(value, ctx) if state.output_path else value
    leave(state, output, scope)
    return None, output


def run_fail(state: State, data: Any, scope: Scope) -> tuple[str | None, Any]:
    """Fail: raises the state's Error/Cause (or ErrorPath/CausePath from the input)."""
    scope.emit(
        "FailStateEntered",
        {"name": state.name, "input": to_json(data), "inputDetails": {"truncated": False}},
    )
    ctx = context_fn(scope, state)
    error, cause = state.error, state.cause
    if state.error_path is not None:
        error = _fail_field(state.error_path, data, ctx, state.raw["ErrorPath"])
    if state.cause_path is not None:
        cause = _fail_field(state.cause_path, data, ctx, state.raw["CausePath"])
    err = StatesError(error, cause)  # type: ignore[arg-type]
    err.decorated = True  # type: ignore[attr-defined]
    raise err


def _fail_field(
    getter: Callable[[Any, ContextFn], Any], data: Any, ctx: ContextFn, path: str
) -> str:
    try:
        value = getter(data, ctx)
    except PathNotFoundError:
        raise StatesError(RUNTIME, f"Invalid path '{path}' : No results for path") from None
    if not isinstance(value, str):
        raise StatesError(RUNTIME, f"The value at '{path}' must be a string, got {to_json(value)}")
    return value


def _emit_quietly(scope: Scope, event_type: str, details: dict[str, Any] | None = None) -> None:
    """Emit an event unless the execution has already ended (aborted branches)."""
    try:
        scope.emit(event_type, details)
    except ExecutionAbortedError:
        pass


emit_quietly = _emit_quietly
