"""Calling a resource handler as Step Functions calls an integration: its exceptions become
States errors (a TaskFailure keeps its error and cause, anything else reads as the Lambda Python
runtime reports an unhandled exception), and TimeoutSeconds/HeartbeatSeconds are enforced.

Why a module of its own: both plain Tasks (``tasks``) and callback Tasks (``callbacks``) call
handlers this way; living below both keeps them from importing each other.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from .errors import HEARTBEAT_TIMEOUT, TIMEOUT, ExecutionAbortedError, StatesError, TaskFailure
from .quotas import to_json
from .runtime import AbortToken, ResourceHandler, TaskCall


def lambda_style_cause(exc: BaseException) -> str:
    """The Cause AWS Lambda's Python runtime reports for an unhandled exception."""
    return to_json(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    )


def _guarded(handler: ResourceHandler, call: TaskCall, scope_token: AbortToken) -> Any:
    """Call a handler, translating its exceptions into Step Functions errors (or an abort)."""
    try:
        return handler(call)
    except ExecutionAbortedError:
        raise
    except Exception as exc:
        if scope_token.is_set():
            raise ExecutionAbortedError("aborted") from exc
        if isinstance(exc, (TaskFailure, StatesError)):
            raise StatesError(exc.error, exc.cause) from exc
        raise StatesError(type(exc).__name__, lambda_style_cause(exc)) from exc


def call_handler(
    handler: ResourceHandler,
    call: TaskCall,
    call_token: AbortToken,
    scope_token: AbortToken,
    timeout: float | None,
    heartbeat: float | None,
) -> Any:
    """Run a handler; with TimeoutSeconds/HeartbeatSeconds it runs in a helper thread so the
    state can time out (States.Timeout / States.HeartbeatTimeout) while the handler is told to
    stop through its abort event."""
    if timeout is None and heartbeat is None:
        result = _guarded(handler, call, scope_token)
    else:
        result = _call_with_deadline(handler, call, call_token, scope_token, timeout, heartbeat)
    if scope_token.is_set():
        raise ExecutionAbortedError("aborted")
    return result


def _call_with_deadline(
    handler: ResourceHandler,
    call: TaskCall,
    call_token: AbortToken,
    scope_token: AbortToken,
    timeout: float | None,
    heartbeat: float | None,
) -> Any:
    box: dict[str, Any] = {}
    done = threading.Event()
    start = time.monotonic()
    last_beat = [start]
    call.heartbeat = lambda: last_beat.__setitem__(0, time.monotonic())

    def target() -> None:
        try:
            box["result"] = _guarded(handler, call, scope_token)
        except BaseException as exc:  # handed over to the waiting thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=f"task-{call.state_name}", daemon=True).start()
    while not done.is_set():
        deadlines: list[tuple[float, str]] = []
        if timeout is not None:
            deadlines.append((start + timeout, TIMEOUT))
        if heartbeat is not None:
            deadlines.append((last_beat[0] + heartbeat, HEARTBEAT_TIMEOUT))
        deadline, error = min(deadlines)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            call_token.set()
            err = StatesError(error, "")
            err.timed_out = True  # type: ignore[attr-defined]
            raise err
        done.wait(remaining)
    if "error" in box:
        raise box["error"]
    return box.get("result")
