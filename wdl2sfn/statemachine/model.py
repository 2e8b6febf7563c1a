"""A state machine definition compiled once into typed, ready-to-run objects.

Compiling up front does two jobs: it rejects what AWS would reject at CreateStateMachine (bad
transitions, duplicate state names, malformed paths or intrinsics) before anything runs, and it
moves every parse (JSONPath, payload templates, Choice rules) out of the per-state hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .choice import Predicate, compile_rule
from .errors import ALL, DefinitionError
from .paths import (
    ContextFn,
    Template,
    compile_any_path,
    compile_filter_path,
    compile_result_path,
    is_path,
)
from .templates import compile_template

STATE_TYPES = frozenset({"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})

PathFn = Callable[[Any, ContextFn], Any]
ResultPathFn = Callable[[Any, Any], Any]


@dataclass
class Retrier:
    """One element of a state's Retry array (defaults from the AWS documentation)."""

    error_equals: list[str]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: str = "NONE"


@dataclass
class Catcher:
    """One element of a state's Catch array."""

    error_equals: list[str]
    next: str
    result_path: ResultPathFn


@dataclass
class NumberField:
    """A number given inline (``TimeoutSeconds``) or by a path (``TimeoutSecondsPath``)."""

    value: float | None = None
    path: str | None = None
    getter: PathFn | None = None


@dataclass
class State:
    """One compiled state; fields unused by a state's type stay at their defaults."""

    name: str
    type: str
    raw: dict[str, Any]
    next: str | None = None
    end: bool = False
    input_path: PathFn | None = None
    output_path: PathFn | None = None
    result_path: ResultPathFn | None = None
    parameters: Template | None = None
    result_selector: Template | None = None
    retriers: list[Retrier] = field(default_factory=list)
    catchers: list[Catcher] = field(default_factory=list)
    # Task
    resource: str = ""
    timeout: NumberField | None = None
    heartbeat: NumberField | None = None
    # Pass
    has_result: bool = False
    result: Any = None
    # Choice
    choices: list[tuple[Predicate, str]] = field(default_factory=list)
    default: str | None = None
    # Wait
    wait_seconds: NumberField | None = None
    wait_timestamp: str | None = None
    wait_timestamp_path: PathFn | None = None
    # Fail
    error: str | None = None
    cause: str | None = None
    error_path: PathFn | None = None
    cause_path: PathFn | None = None
    # Parallel
    branches: list[Machine] = field(default_factory=list)
    # Map
    items_path: PathFn | None = None
    item_selector: Template | None = None
    processor: Machine | None = None
    distributed: bool = False
    max_concurrency: NumberField | None = None
    item_reader: dict[str, Any] | None = None
    item_reader_parameters: Template | None = None
    item_batcher: dict[str, Any] | None = None
    batch_input: Template | None = None
    result_writer: dict[str, Any] | None = None
    result_writer_parameters: Template | None = None
    tolerated_count: NumberField | None = None
    tolerated_percentage: NumberField | None = None


@dataclass
class Machine:
    """A compiled state machine, Parallel branch or Map item processor."""

    start_at: str
    states: dict[str, State]
    timeout_seconds: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def compile_machine(definition: dict[str, Any]) -> Machine:
    """Compile and validate a whole definition (state names must be unique throughout)."""
    seen: set[str] = set()
    machine = _compile_machine(definition, seen, "the state machine")
    timeout = definition.get("TimeoutSeconds")
    machine.timeout_seconds = float(timeout) if timeout is not None else None
    return machine


#: Features of newer ASL this executor does not interpret: rejected rather than silently ignored.
UNSUPPORTED_FIELDS = ("Assign", "Arguments", "Output", "Items")


def _compile_machine(definition: dict[str, Any], seen: set[str], where: str) -> Machine:
    if isinstance(definition, dict) and definition.get("QueryLanguage", "JSONPath") != "JSONPath":
        raise DefinitionError(
            f"{where}: only QueryLanguage JSONPath is supported by the local executor"
        )
    if (
        not isinstance(definition, dict)
        or "States" not in definition
        or "StartAt" not in definition
    ):
        raise DefinitionError(f"{where} needs StartAt and States")
    states: dict[str, State] = {}
    for name, raw in definition["States"].items():
        if name in seen:
            raise DefinitionError(f"duplicate state name {name!r}")
        seen.add(name)
        states[name] = _compile_state(name, raw, seen)
    start = definition["StartAt"]
    if start not in states:
        raise DefinitionError(f"StartAt {start!r} of {where} is not one of its states")
    for state in states.values():
        for target in _transitions(state):
            if target not in states:
                raise DefinitionError(
                    f"state {state.name!r} transitions to unknown state {target!r}"
                )
    return Machine(start, states, raw=definition)


def _transitions(state: State) -> list[str]:
    targets = [c.next for c in state.catchers] + [n for _, n in state.choices]
    if state.next:
        targets.append(state.next)
    if state.default:
        targets.append(state.default)
    return targets


def _number(raw: dict[str, Any], name: str) -> NumberField | None:
    """Compile ``<name>`` / ``<name>Path`` into a NumberField."""
    if name in raw:
        return NumberField(value=float(raw[name]))
    path = raw.get(name + "Path")
    if path is None:
        return None
    if not is_path(path):
        raise DefinitionError(f"{name}Path must be a path, got {path!r}")
    return NumberField(path=path, getter=compile_any_path(path))


def _compile_state(name: str, raw: dict[str, Any], seen: set[str]) -> State:
    kind = raw.get("Type")
    if kind not in STATE_TYPES:
        raise DefinitionError(f"state {name!r} has unknown Type {kind!r}")
    unsupported = [f for f in UNSUPPORTED_FIELDS if f in raw] + (
        ["QueryLanguage"] if raw.get("QueryLanguage", "JSONPath") != "JSONPath" else []
    )
    if unsupported:
        raise DefinitionError(
            f"state {name!r} uses {', '.join(unsupported)} (JSONata / variables), "
            "which the local executor does not support"
        )
    state = State(name=name, type=kind, raw=raw, next=raw.get("Next"), end=bool(raw.get("End")))
    if kind not in ("Choice", "Succeed", "Fail") and not state.next and not state.end:
        raise DefinitionError(f"state {name!r} needs Next or End")
    if kind != "Fail":
        state.input_path = compile_filter_path(raw, "InputPath")
        state.output_path = compile_filter_path(raw, "OutputPath")
    if kind in ("Task", "Pass", "Parallel", "Map"):
        state.result_path = compile_result_path(raw)
        if "Parameters" in raw and kind != "Map":
            state.parameters = compile_template(raw["Parameters"], "Parameters")
    if kind in ("Task", "Parallel", "Map"):
        if "ResultSelector" in raw:
            state.result_selector = compile_template(raw["ResultSelector"], "ResultSelector")
        state.retriers = [_retrier(r) for r in raw.get("Retry", [])]
        state.catchers = [_catcher(c) for c in raw.get("Catch", [])]
    COMPILERS[kind](state, raw, seen)
    return state


def _retrier(raw: dict[str, Any]) -> Retrier:
    errors = raw.get("ErrorEquals") or []
    if not errors:
        raise DefinitionError("a retrier needs a non-empty ErrorEquals")
    if ALL in errors and len(errors) != 1:
        raise DefinitionError("States.ALL must appear alone in ErrorEquals")
    max_delay = raw.get("MaxDelaySeconds")
    return Retrier(
        error_equals=list(errors),
        interval_seconds=float(raw.get("IntervalSeconds", 1)),
        max_attempts=int(raw.get("MaxAttempts", 3)),
        backoff_rate=float(raw.get("BackoffRate", 2.0)),
        max_delay_seconds=float(max_delay) if max_delay is not None else None,
        jitter=raw.get("JitterStrategy", "NONE"),
    )


def _catcher(raw: dict[str, Any]) -> Catcher:
    errors = raw.get("ErrorEquals") or []
    if not errors or "Next" not in raw:
        raise DefinitionError("a catcher needs ErrorEquals and Next")
    return Catcher(list(errors), raw["Next"], compile_result_path(raw))


def _task(state: State, raw: dict[str, Any], seen: set[str]) -> None:
    if not isinstance(raw.get("Resource"), str):
        raise DefinitionError(f"Task state {state.name!r} needs a Resource")
    state.resource = raw["Resource"]
    state.timeout = _number(raw, "TimeoutSeconds")
    state.heartbeat = _number(raw, "HeartbeatSeconds")


def _pass(state: State, raw: dict[str, Any], seen: set[str]) -> None:
    state.has_result = "Result" in raw
    state.result = raw.get("Result")


def _choice(state: State, raw: dict[str, Any], seen: set[str]) -> None:
    rules = raw.get("Choices") or []
    if not rules:
        raise DefinitionError(f"Choice state {state.name!r} needs Choices")
    for rule in rules:
        if "Next" not in rule:
            raise DefinitionError(f"a rule of Choice state {state.name!r} has no Next")
        state.choices.append((compile_rule(rule), rule["Next"]))
    state.default = raw.get("Default")


def _wait(state: State, raw: dict[str, Any], seen: set[str]) -> None:
    state.wait_seconds = _number(raw, "Seconds")
    state.wait_timestamp = raw.get("Timestamp")
    if "TimestampPath" in raw:
        state.wait_timestamp_path = compile_any_path(raw["TimestampPath"])
    given = [state.wait_seconds, state.wait_timestamp, state.wait_timestamp_path]
    if sum(g is not None for g in given) != 1:
        raise DefinitionError(
            f"Wait state {state.name!r} needs exactly one of Seconds(Path)/Timestamp(Path)"
        )


def _succeed(state: State, raw: dict[str, Any], seen: set[str]) -> None:
    state.end = True


def _fail(state: State, raw: dict[str, Any], seen: set[str]) -> None:
    state.end = True
    state.error = raw.get("Error")
    state.cause = raw.get("Cause")
    if "ErrorPath" in raw:
        state.error_path = compile_any_path(raw["ErrorPath"])
    if "CausePath" in raw:
        state.cause_path = compile_any_path(raw["CausePath"])


def _parallel(state: State, raw: dict[str, Any], seen: set[str]) -> None:
    branches = raw.get("Branches") or []
    if not branches:
        raise DefinitionError(f"Parallel state {state.name!r} needs Branches")
    state.branches = [_compile_machine(b, seen, f"a branch of {state.name!r}") for b in branches]


def _map(state: State, raw: dict[str, Any], seen: set[str]) -> None:
    processor = raw.get("ItemProcessor") or raw.get("Iterator")
    if processor is None:
        raise DefinitionError(f"Map state {state.name!r} needs ItemProcessor (or Iterator)")
    state.processor = _compile_machine(processor, seen, f"the item processor of {state.name!r}")
    config = processor.get("ProcessorConfig") or {}
    state.distributed = config.get("Mode") == "DISTRIBUTED"
    state.items_path = compile_filter_path(raw, "ItemsPath") if "ItemsPath" in raw else None
    selector = raw.get("ItemSelector", raw.get("Parameters"))
    if selector is not None:
        state.item_selector = compile_template(selector, "ItemSelector")
    state.max_concurrency = _number(raw, "MaxConcurrency")
    state.tolerated_count = _number(raw, "ToleratedFailureCount")
    state.tolerated_percentage = _number(raw, "ToleratedFailurePercentage")
    state.item_reader = raw.get("ItemReader")
    if state.item_reader is not None:
        state.item_reader_parameters = compile_template(state.item_reader.get("Parameters", {}))
    state.item_batcher = raw.get("ItemBatcher")
    if state.item_batcher is not None and "BatchInput" in state.item_batcher:
        state.batch_input = compile_template(state.item_batcher["BatchInput"], "BatchInput")
    state.result_writer = raw.get("ResultWriter")
    if state.result_writer is not None:
        state.result_writer_parameters = compile_template(state.result_writer.get("Parameters", {}))
    if not state.distributed and (state.item_reader or state.item_batcher or state.result_writer):
        raise DefinitionError(
            f"Map state {state.name!r}: ItemReader, ItemBatcher and ResultWriter need DISTRIBUTED mode"
        )


COMPILERS: dict[str, Callable[[State, dict[str, Any], set[str]], None]] = {
    "Task": _task,
    "Pass": _pass,
    "Choice": _choice,
    "Wait": _wait,
    "Succeed": _succeed,
    "Fail": _fail,
    "Parallel": _parallel,
    "Map": _map,
}
