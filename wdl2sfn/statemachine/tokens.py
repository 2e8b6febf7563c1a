"""The task-token registry of the callback pattern (`.waitForTaskToken`): tokens issued to
waiting Tasks and the answers SendTaskSuccess/SendTaskFailure give them.

Why apart from ``callbacks`` (which runs the callback Task): the registry belongs to the
executor (``Executor.task_tokens``, handed by the local backend to the run-time steps), while
running a Task needs the execution's scope; keeping the registry here lets the executor hold it
without importing a state kind.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .errors import TIMEOUT, StatesError
from .runtime import AbortToken

POLL_SECONDS = 0.05
#: what ``new_token`` makes (two uuid4 hex strings), to find tokens in a Task's parameters
TOKEN_PATTERN = re.compile(r"(?:[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}){2}")


def new_token() -> str:
    """A task token as ``TaskTokens.issue`` hands them out (``$$.Task.Token``)."""
    return uuid.uuid4().hex + uuid.uuid4().hex


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
        token = new_token()
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

    def wait(self, token: str, abort: AbortToken, timeout: float | None) -> Any:
        """Block until the token is answered; abort with ``abort`` (the waiting state's scope);
        States.Timeout past timeout."""
        with self._lock:
            pending = self._pending[token]
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not pending.done.wait(POLL_SECONDS):
                abort.check()
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
