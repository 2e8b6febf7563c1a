"""The Map state: MapStateStarted, the iterations (inline or as a Distributed Map's child
executions), MapStateSucceeded/Failed, under Retry/Catch.

Why a module of its own: the Map state picks between the inline iterations (``concurrent``) and
the Distributed Map (``distributed``, which reuses ``concurrent``'s fan-out); living above both
keeps ``concurrent -> distributed -> concurrent`` from being an import cycle.
"""

from __future__ import annotations

from typing import Any

from .concurrent import run_inline
from .distributed import run_distributed
from .errors import ExecutionAbortedError, StatesError
from .execution import Scope
from .interpreter import context_fn, emit_quietly, enter, process_result, with_retry_and_catch
from .model import State


def run_map(state: State, data: Any, scope: Scope) -> tuple[str | None, Any]:
    """Map (inline or distributed): MapStateStarted, the iterations, MapStateSucceeded/Failed."""
    enter(state, data, scope)

    def attempt(retry_count: int) -> tuple[Any, str]:
        ctx = context_fn(scope, state, retry_count)
        value = state.input_path(data, ctx) if state.input_path else data
        try:
            if state.distributed:
                results = run_distributed(state, value, ctx, scope, retry_count)
            else:
                results = run_inline(state, value, ctx, scope)
        except StatesError:
            emit_quietly(scope, "MapStateFailed")
            raise
        except ExecutionAbortedError:
            emit_quietly(scope, "MapStateAborted")
            raise
        scope.emit("MapStateSucceeded")
        return process_result(state, data, results, ctx, scope)

    return with_retry_and_catch(state, data, scope, attempt)
