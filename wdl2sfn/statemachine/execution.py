"""One execution of a state machine and the executor that starts it, apart from the state kinds.

An execution runs its machine state by state (``run_machine``, the transition loop) inside
scopes. A *scope* is one thread of control (the top level, a branch, an iteration): it knows its
execution, its abort token, and the id of its last event, which becomes the next event's
``previousEventId`` as in AWS's per-branch event chains.

Why the state kinds are not imported here: a kind (Task, Map...) starts child executions and
runs branches, so it imports this module; the loop finds the runner of a state type in the
``kinds`` mapping its executor was given (``kinds.STATE_KINDS`` through ``executor.Executor``),
never in a registry filled by importing the kinds. The import graph stays a DAG.
"""

from __future__ import annotations

import errno
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from .errors import (
    DATA_LIMIT_EXCEEDED,
    RUNTIME,
    TIMEOUT,
    DefinitionError,
    ExecutionAbortedError,
    StatesError,
)
from .history import History, HistoryLimitError, iso_timestamp
from .model import Machine, State, compile_machine
from .quotas import Quotas, check_definition_size, history_limit_cause, payload_size, to_json
from .redrive import RedriveLedger
from .runtime import AbortToken, Authorizer, ExecutionResult, ResourceHandler
from .store import ObjectStore
from .tokens import TaskTokens

DEFAULT_ACCOUNT = "000000000000"


#: written even while a redriven attempt replays: a Map Run's start and end, so that its redriven
#: children's histories are found (ListMapRuns lists the redriven Map Run as a new one, where AWS
#: keeps its ARN and counts a redrive)
ALWAYS_WRITTEN = frozenset({"MapRunStarted", "MapRunSucceeded", "MapRunFailed"})


class Replay:
    """A redriven attempt's thread of control while it walks states an earlier attempt finished
    (``redrive``): AWS keeps their history and adds none, so its events are not written until
    a Task runs again in it or in a branch of it (``go_live``)."""

    def __init__(self, parent: Replay | None = None) -> None:
        self.parent = parent
        self.live = False

    def go_live(self) -> None:
        at: Replay | None = self
        while at is not None and not at.live:
            at.live = True
            at = at.parent


@dataclass
class Scope:
    """One thread of control inside an execution."""

    run: Execution
    token: AbortToken
    prev: int
    #: id of the Entered event of the state this scope is running (for States.Runtime causes)
    entered: int = 0
    #: a redriven attempt's replay of preserved states (None: every event is written)
    replay: Replay | None = None

    def emit(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        """Append an event chained to this scope's previous one; return its id."""
        if self.replay is not None and not self.replay.live and event_type not in ALWAYS_WRITTEN:
            return self.prev  # a preserved state of a redriven attempt: no new event
        self.prev = self.run.history.add(event_type, details, self.prev)
        return self.prev

    def branch(self, token: AbortToken | None = None) -> Scope:
        """A child scope (branch/iteration) with its own abort token, chained from here."""
        replay = Replay(self.replay) if self.replay is not None else None
        return Scope(self.run, token or AbortToken(self.token), self.prev, replay=replay)


#: errno of a full disk (ENOSPC) or an exceeded quota (EDQUOT)
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})

#: (state, raw input, scope) -> (next state name or None at the end, output)
Runner = Callable[[State, Any, Scope], tuple[str | None, Any]]


def run_machine(machine: Machine, data: Any, scope: Scope) -> Any:
    """Run a machine (or branch, or item processor) from StartAt to its end; return the output."""
    states = machine.states
    kinds = scope.run.executor.kinds
    gate = scope.run.executor.transition_gate
    name: str | None = machine.start_at
    while name is not None:
        scope.token.check()
        if gate is not None:
            gate(name)
        state = states[name]
        try:
            name, data = kinds[state.type](state, data, scope)
        except StatesError as err:
            _decorate_runtime(err, state, scope)
            raise
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                raise
            # the disk is full: the state and the file, never an internal error
            where = f"{exc.filename}: " if exc.filename else ""
            raise StatesError(
                RUNTIME,
                f"disk full while running state '{state.name}': {where}{exc.strerror}",
            ) from exc
    return data


def _decorate_runtime(err: StatesError, state: State, scope: Scope) -> None:
    """Prefix a States.Runtime cause with the state and its entered event, once."""
    if err.error == RUNTIME and not getattr(err, "decorated", False):
        entered = scope.entered or scope.prev
        err.cause = (
            f"An error occurred while executing the state '{state.name}' "
            f"(entered at the event id #{entered}). {err.cause}"
        )
        err.decorated = True  # type: ignore[attr-defined]


_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def substitute(text: str, substitutions: Mapping[str, str] | None) -> str:
    """CloudFormation DefinitionSubstitutions: replace ``${Name}`` by its value (JSON-escaped)."""
    if not substitutions:
        return text

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in substitutions:
            return match.group(0)
        return json.dumps(str(substitutions[name]))[1:-1]

    return _PLACEHOLDER.sub(replace, text)


def load_definition(
    definition: dict[str, Any] | str, substitutions: Mapping[str, str] | None, quotas: Quotas
) -> dict[str, Any]:
    """Definition text after substitutions, size-checked against the 1 MB quota, parsed."""
    text = (
        definition if isinstance(definition, str) else json.dumps(definition, separators=(",", ":"))
    )
    text = substitute(text, substitutions)
    check_definition_size(text, quotas)
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise DefinitionError(f"state machine definition is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise DefinitionError("state machine definition must be a JSON object")
    return parsed


class BaseExecutor:
    """Runs executions of one state machine definition with injected resource handlers and the
    state kinds it is given (``kinds``, else the class's ``default_kinds``).

    Use ``executor.Executor``, which binds every kind of ``kinds.py``; this base exists so that
    executions and the kinds can name their executor without importing the kinds."""

    #: state type -> runner, used when no ``kinds`` is passed (empty here: see executor.Executor)
    default_kinds: ClassVar[Mapping[str, Runner]] = MappingProxyType({})

    def __init__(
        self,
        definition: dict[str, Any] | str,
        handlers: Mapping[str, ResourceHandler],
        *,
        substitutions: Mapping[str, str] | None = None,
        history_dir: Path | None = None,
        object_store: ObjectStore | None = None,
        state_machines: Mapping[str, dict[str, Any] | str] | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        quotas: Quotas | None = None,
        max_threads: int = 256,
        clock: Any = time,
        state_machine_arn: str | None = None,
        region: str = "us-east-1",
        account: str = DEFAULT_ACCOUNT,
        authorizer: Authorizer | None = None,
        role_arn: str | None = None,
        kinds: Mapping[str, Runner] | None = None,
        redrive: RedriveLedger | None = None,
        redrive_count: int = 0,
        transition_gate: Callable[[str], None] | None = None,
    ) -> None:
        self.kinds: Mapping[str, Runner] = self.default_kinds if kinds is None else kinds
        self.quotas = quotas or Quotas()
        self.task_tokens = TaskTokens()  # .waitForTaskToken answers (SendTaskSuccess locally)
        self.substitutions = dict(substitutions or {})
        self.definition = load_definition(definition, self.substitutions, self.quotas)
        self.machine = compile_machine(self.definition)
        self.handlers = dict(handlers)
        self.history_dir = Path(history_dir) if history_dir is not None else None
        self.object_store = object_store
        self.state_machines = dict(state_machines or {})
        self.on_event = on_event
        self.max_threads = max(1, max_threads)
        self.clock = clock
        self.region = region
        self.account = account
        self.authorizer = authorizer
        self.role_arn = role_arn or f"arn:aws:iam::{account}:role/local"
        self.state_machine_arn = state_machine_arn or (
            f"arn:aws:states:{region}:{self.account}:stateMachine:local"
        )
        #: a redriven attempt: the Task results earlier attempts finished (``redrive``)
        self.redrive = redrive
        self.redrive_count = redrive_count
        #: called before each state is entered (the rehearsal's state-transition bucket)
        self.transition_gate = transition_gate
        self._children: dict[str, Machine] = {}
        self._children_lock = threading.Lock()

    def child_machine(self, arn: str) -> Machine | None:
        """The compiled machine bound to a state machine ARN (for states:startExecution)."""
        with self._children_lock:
            if arn in self._children:
                return self._children[arn]
            if arn not in self.state_machines:
                return None
            definition = load_definition(self.state_machines[arn], self.substitutions, self.quotas)
            machine = compile_machine(definition)
            self._children[arn] = machine
            return machine

    def start(self, execution_input: Any, name: str) -> Execution:
        """Start an execution in a background thread (like StartExecution)."""
        size = payload_size(to_json(execution_input))
        if size > self.quotas.payload_bytes:
            raise ValueError(
                f"execution input is {size} bytes, over the Step Functions quota of "
                f"{self.quotas.payload_bytes} bytes"
            )
        execution = Execution(
            self, self.machine, execution_input, name, self.history_dir, self.state_machine_arn
        )
        return execution.start()

    def run(self, execution_input: Any, name: str) -> ExecutionResult:
        """Run an execution to its end and return how it ended."""
        return self.start(execution_input, name).wait()


class Execution:
    """One execution: its history, abort token, and outcome."""

    def __init__(
        self,
        executor: BaseExecutor,
        machine: Machine,
        execution_input: Any,
        name: str,
        history_dir: Path | None,
        state_machine_arn: str,
        parent_token: AbortToken | None = None,
        event_key: str | None = None,
        replay_parent: Replay | None = None,
    ) -> None:
        """``event_key`` names the execution to ``on_event`` listeners when ``name`` alone is not
        unique in the run (Map Run children are numbered from 0 in every Map Run)."""
        self.executor = executor
        self.machine = machine
        self.replay_parent = replay_parent  # a Map Run child's: its Map state's thread of control
        self.input = execution_input
        self.name = name
        self.history_dir = history_dir
        self.state_machine_arn = state_machine_arn
        self.state_machine_name = state_machine_arn.split(":stateMachine:", 1)[-1]
        self.region = executor.region
        self.account = executor.account
        self.arn = (
            f"arn:aws:states:{self.region}:{self.account}:execution:"
            f"{self.state_machine_name}:{name}"
        )
        self.history_path = history_dir / "history.jsonl" if history_dir is not None else None
        self.history = History(
            event_key or name,
            self.history_path,
            executor.quotas.history_events,
            executor.on_event,
            executor.clock,
        )
        self.token = AbortToken(parent_token)
        self.start_time: float = executor.clock.time()
        self.stop_time: float | None = None
        self.map_runs: dict[str, int] = {}
        self.context_base = {
            "Execution": {
                "Id": self.arn,
                "Input": execution_input,
                "Name": name,
                "RoleArn": executor.role_arn,
                "StartTime": iso_timestamp(self.start_time),
                "RedriveCount": executor.redrive_count,
            },
            "StateMachine": {"Id": state_machine_arn, "Name": self.state_machine_name},
        }
        self._result: ExecutionResult | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Execution:
        """Run in a background thread; returns self."""
        self._thread = threading.Thread(
            target=self.run_inline, name=f"execution-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def run_inline(self) -> ExecutionResult:
        """Run in the calling thread to the end (child executions use this directly)."""
        scope = Scope(self, self.token, 0)
        timer: threading.Timer | None = None
        try:
            text = to_json(self.input)
            scope.emit(
                "ExecutionStarted",
                {
                    "input": text,
                    "inputDetails": {"truncated": False},
                    "roleArn": self.context_base["Execution"]["RoleArn"],
                    "stateMachineArn": self.state_machine_arn,
                },
            )
            if self.executor.redrive is not None:
                scope.replay = Replay(self.replay_parent)
            if payload_size(text) > self.executor.quotas.payload_bytes:
                raise StatesError(
                    DATA_LIMIT_EXCEEDED,
                    "The execution input exceeds the maximum number of bytes service limit.",
                )
            if self.machine.timeout_seconds is not None:
                timer = threading.Timer(self.machine.timeout_seconds, self._time_out)
                timer.daemon = True
                timer.start()
            output = run_machine(self.machine, self.input, scope)
            self._finish(
                "SUCCEEDED",
                "ExecutionSucceeded",
                {"output": to_json(output), "outputDetails": {"truncated": False}},
                output,
            )
        except StatesError as err:
            self._finish("FAILED", "ExecutionFailed", _failure_details(err.error, err.cause))
        except HistoryLimitError:
            self._finish("FAILED", "ExecutionFailed", {})
        except ExecutionAbortedError:
            self._finish("ABORTED", "ExecutionAborted", {})
        except Exception as exc:  # a bug: never leave an execution hanging
            self._finish(
                "FAILED", "ExecutionFailed", {"error": RUNTIME, "cause": f"internal error: {exc!r}"}
            )
        finally:
            if timer is not None:
                timer.cancel()
        return self.wait()

    def stop(self, error: str = "", cause: str = "") -> None:
        """Like StopExecution: the execution is ABORTED at once and running handlers are aborted."""
        self._finish("ABORTED", "ExecutionAborted", _failure_details(error or None, cause or None))
        self.token.set()

    def _time_out(self) -> None:
        """The execution's TimeoutSeconds elapsed."""
        self._finish(
            "TIMED_OUT",
            "ExecutionTimedOut",
            {"error": TIMEOUT, "cause": "The execution timed out."},
        )
        self.token.set()

    def _finish(
        self, status: str, event_type: str, details: dict[str, Any], output: Any = None
    ) -> None:
        """Record the outcome once: the first terminal event written wins."""
        with self._lock:
            if self._result is not None:
                return
            self.stop_time = self.executor.clock.time()
            try:
                written = self.history.terminate(event_type, details)
            except OSError as exc:  # disk full: the end cannot be written, but must be told
                status, written = "FAILED", True
                details = {"error": RUNTIME, "cause": _unwritable(self.history_path, exc, details)}
            if written:
                result = ExecutionResult(
                    self.name,
                    status,
                    output if status == "SUCCEEDED" else None,
                    details.get("error"),
                    details.get("cause"),
                    self.history_path,
                    self.history.count,
                )
            else:  # the history quota closed the history with its own ExecutionFailed event
                limit = self.executor.quotas.history_events
                result = ExecutionResult(
                    self.name,
                    "FAILED",
                    None,
                    RUNTIME,
                    history_limit_cause(limit),
                    self.history_path,
                    self.history.count,
                )
            self._result = result
        try:
            self.history.close()
        except OSError:
            pass  # (disk full: what could not be flushed is lost; the result says why)
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> ExecutionResult:
        """Wait for the end; raises TimeoutError if it has not ended within ``timeout`` seconds."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"execution {self.name} still running after {timeout} s")
        assert self._result is not None
        return self._result

    @property
    def done(self) -> bool:
        return self._done.is_set()


def _unwritable(path: Any, exc: OSError, details: dict[str, Any]) -> str:
    """The cause of an execution whose history could not take its last event (ENOSPC)."""
    before = str(details.get("cause") or details.get("error") or "")
    if str(path) in before:  # (the disk filled while a state ran: that said it already)
        return f"{before} (nor could the run's end be written)"
    why = f"cannot write the execution history {path}: {exc.strerror or exc}"
    return f"{why} (while ending with: {before})" if before else why


def _failure_details(error: str | None, cause: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    return details


def new_execution_name() -> str:
    """A fresh execution name (a UUID, as the console proposes)."""
    return str(uuid.uuid4())
