"""The callback pattern (`.waitForTaskToken`): a Task that waits for SendTaskSuccess/Failure.

As on AWS: the state's context object carries `$$.Task.Token`; the underlying integration (e.g.
`lambda:invoke`) is called with the parameters and its response is the `TaskSubmitted` output;
the state then waits, writing no more events, until someone calls `send_success(token, output)`
(the Task's result) or `send_failure(token, error, cause)` (the Task fails with that error).
`TimeoutSeconds` bounds the wait (`States.Timeout`); stopping the execution, or a failing
sibling branch, aborts it. A token may be answered before its Task starts waiting (a handler
may answer its own token): the answer is kept until the wait collects it.

Handlers reach the registry through `Executor.task_tokens` (the local backend hands it to the
run-time steps, which call `send_success` where AWS would have them call SendTaskSuccess).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .errors import RUNTIME, TIMEOUT, ExecutionAbortedError, StatesError
from .paths import ContextFn
from .quotas import check_payload, to_json
from .runtime import Scope

SUFFIX = ".waitForTaskToken"
POLL_SECONDS = 0.05


class InvalidToken(Exception):
    """SendTaskSuccess/Failure for a token nobody issued, or answered twice (AWS:
    `TaskTimedOut` / `InvalidToken`)."""


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    output: Any = None
    error: tuple[str, str] | None = None
    answered: bool = False


class TaskTokens:
    """Tokens issued to waiting Tasks, and their answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}

    def issue(self) -> str:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        with self._lock:
            self._pending[token] = _Pending()
        return token

    def send_success(self, token: str, output: str) -> None:
        """SendTaskSuccess: `output` is JSON text, as in the API."""
        value = json.loads(output)
        self._answer(token, lambda p: setattr(p, "output", value))

    def send_failure(self, token: str, error: str = "", cause: str = "") -> None:
        self._answer(token, lambda p: setattr(p, "error", (error, cause)))

    def _answer(self, token: str, apply: Any) -> None:
        with self._lock:
            pending = self._pending.get(token)
            if pending is None or pending.answered:
                raise InvalidToken(f"Invalid token or task already answered: {token[:16]}...")
            pending.answered = True
            apply(pending)
        pending.done.set()

    def wait(self, token: str, scope: Scope, timeout: float | None) -> Any:
        """Block until the token is answered; abort with the scope; States.Timeout past timeout."""
        with self._lock:
            pending = self._pending[token]
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not pending.done.wait(POLL_SECONDS):
                scope.token.check()
                if deadline is not None and time.monotonic() > deadline:
                    err = StatesError(TIMEOUT, "")
                    err.timed_out = True  # type: ignore[attr-defined]
                    raise err
        finally:
            with self._lock:
                self._pending.pop(token, None)
        if pending.error is not None:
            raise StatesError(*pending.error)
        return pending.output


def with_token(ctx: ContextFn, token: str) -> ContextFn:
    """The context object of a callback Task: `$$.Task.Token` added."""
    cache: list[dict[str, Any]] = []

    def build() -> dict[str, Any]:
        if not cache:
            cache.append({**ctx(), "Task": {"Token": token}})
        return cache[0]

    return build


def is_callback(resource: str) -> bool:
    return resource.endswith(SUFFIX)


def invoke_callback(inv: Any, scope: Scope, timeout: float | None, token: str) -> Any:
    """Call the base integration, emit TaskSubmitted, then wait for the token's answer."""
    from .tasks import call_handler

    executor = scope.run.executor
    base = inv.resource[: -len(SUFFIX)]
    handler = executor.handlers.get(base)
    if handler is None:
        raise StatesError(RUNTIME, f"No handler is bound to the resource '{base}'")
    task_call = inv.task_call(base, timeout)
    try:
        submitted = call_handler(handler, task_call, inv.token, scope.token, None, None)
    finally:
        inv.token.release()
    scope.emit(
        "TaskSubmitted",
        inv.details(output=to_json(submitted), outputDetails={"truncated": False}),
    )
    result = executor.task_tokens.wait(token, scope, timeout)
    check_payload(to_json(result), executor.quotas, inv.state.name)
    return result


__all__ = ["ExecutionAbortedError", "InvalidToken", "TaskTokens", "invoke_callback", "with_token"]
