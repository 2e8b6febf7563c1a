"""The callback pattern (`.waitForTaskToken`): a Task that waits for SendTaskSuccess/Failure.

As on AWS: the state's context object carries `$$.Task.Token`; the underlying integration (e.g.
`lambda:invoke`) is called with the parameters and its response is the `TaskSubmitted` output;
the state then waits, writing no more events, until someone calls `send_success(token, output)`
(the Task's result) or `send_failure(token, error, cause)` (the Task fails with that error).
`TimeoutSeconds` bounds the wait (`States.Timeout`); stopping the execution, or a failing
sibling branch, aborts it. A token may be answered before its Task starts waiting (a handler
may answer its own token): the answer is kept until the wait collects it.

Handlers reach the registry (``tokens.TaskTokens``) through `Executor.task_tokens` (the local
backend hands it to the run-time steps, which call `send_success` where AWS would have them call
SendTaskSuccess).
"""

from __future__ import annotations

from typing import Any

from .errors import RUNTIME, ExecutionAbortedError, StatesError
from .execution import Scope
from .handler_calls import call_handler
from .paths import ContextFn
from .quotas import check_payload, to_json
from .tokens import InvalidToken, TaskTokens

SUFFIX = ".waitForTaskToken"


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
    result = executor.task_tokens.wait(token, scope.token, timeout)
    check_payload(to_json(result), executor.quotas, inv.state.name)
    return result


__all__ = ["ExecutionAbortedError", "InvalidToken", "TaskTokens", "invoke_callback", "with_token"]
