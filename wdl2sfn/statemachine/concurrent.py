"""Parallel and Map states: branches and iterations that really run concurrently (threads).

``run_all`` is the one fan-out primitive: it runs N jobs on at most W worker threads (the
calling thread does the work itself when W is 1), each job in its own scope under a shared
*group* abort token. The first job to fail sets the group token, which aborts the siblings'
handlers and waits; the state then fails with that job's error, as AWS fails a Parallel state
with the failing branch's error and a Map state with the failing iteration's. Results keep the
order of the jobs whatever order they finish in.

Inline Map runs at most 40 iterations at once, as on AWS (MaxConcurrency 0 means "up to 40");
Distributed Map (distributed.py) reuses ``run_all`` for its child executions; the Map state
itself, which picks inline or distributed, is ``map_state.run_map``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .errors import RUNTIME, ExecutionAbortedError, StatesError
from .execution import Scope, run_machine
from .interpreter import (
    context_fn,
    effective_input,
    emit_quietly,
    enter,
    process_result,
    resolve_number,
    with_retry_and_catch,
)
from .model import Machine, State
from .paths import ContextFn
from .runtime import AbortToken

INLINE_MAP_MAX_CONCURRENCY = 40

Job = Callable[[Scope], Any]


class _Group:
    """Shared bookkeeping of one fan-out: results, the first failure, the abort token."""

    def __init__(self, scope: Scope, count: int) -> None:
        self.scope = scope
        self.token = AbortToken(scope.token)
        self.results: list[Any] = [None] * count
        self.failure: StatesError | None = None
        self.aborted = False
        self.lock = threading.Lock()
        self.next_index = itertools.count()
        self.count = count

    def fail(self, err: StatesError | None) -> None:
        with self.lock:
            if err is not None and self.failure is None and not self.aborted:
                self.failure = err
            elif err is None and self.failure is None:
                self.aborted = True
        self.token.set()

    def work(self, jobs: Sequence[Job]) -> None:
        """Worker loop: take the next job index until none is left or the group is aborted."""
        while not self.token.is_set():
            index = next(self.next_index)
            if index >= self.count:
                return
            sub = self.scope.branch(AbortToken(self.token))
            try:
                self.results[index] = jobs[index](sub)
            except StatesError as err:
                self.fail(err)
            except ExecutionAbortedError:
                self.fail(None)
            except Exception as exc:  # a bug in a handler wrapper or here: fail loudly, as Runtime
                self.fail(StatesError(RUNTIME, f"internal error: {exc!r}"))
            finally:
                sub.token.release()


def run_all(jobs: Sequence[Job], scope: Scope, workers: int) -> list[Any]:
    """Run jobs concurrently on ``workers`` threads; return results in job order or raise."""
    group = _Group(scope, len(jobs))
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        group.work(jobs)
    else:
        threads = [
            threading.Thread(
                target=group.work, args=(jobs,), daemon=True, name=f"{scope.run.name}-w{i}"
            )
            for i in range(workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    group.token.release()
    if scope.token.is_set() or scope.run.history.closed:
        raise ExecutionAbortedError("aborted")
    if group.failure is not None:
        raise group.failure
    if group.aborted:
        raise ExecutionAbortedError("aborted")
    return group.results


# ---------------------------------------------------------------- Parallel


def _branch_job(branch: Machine, value: Any) -> Job:
    return lambda sub: run_machine(branch, value, sub)


def run_parallel(state: State, data: Any, scope: Scope) -> tuple[str | None, Any]:
    """Parallel: every branch gets the effective input; the result is their outputs in order."""
    enter(state, data, scope)

    def attempt(retry_count: int) -> tuple[Any, str]:
        ctx = context_fn(scope, state, retry_count)
        value = effective_input(state, data, ctx)
        scope.emit("ParallelStateStarted")
        jobs = [_branch_job(branch, value) for branch in state.branches]
        try:
            results = run_all(jobs, scope, len(jobs))
        except StatesError:
            scope.emit("ParallelStateFailed")
            raise
        except ExecutionAbortedError:
            emit_quietly(scope, "ParallelStateAborted")
            raise
        scope.emit("ParallelStateSucceeded")
        return process_result(state, data, results, ctx, scope)

    return with_retry_and_catch(state, data, scope, attempt)


# ---------------------------------------------------------------- Map


def map_items(state: State, value: Any, ctx: ContextFn) -> list[Any]:
    """The array at ItemsPath (default ``$``) of the Map's input."""
    items = state.items_path(value, ctx) if state.items_path else value
    if not isinstance(items, list):
        path = state.raw.get("ItemsPath", "$")
        raise StatesError(
            RUNTIME,
            f"Invalid path '{path}': the value at ItemsPath must be an array, got {type(items).__name__}",
        )
    return items


def select_item(state: State, scope: Scope, value: Any, index: int, item: Any) -> Any:
    """ItemSelector (or legacy Parameters) for one item, with ``$$.Map.Item``; else the item."""
    if state.item_selector is None:
        return item
    ctx = context_fn(scope, state, 0, (index, item))
    return state.item_selector(value, ctx)


def map_concurrency(state: State, value: Any, ctx: ContextFn, cap: int) -> int:
    """MaxConcurrency(Path): 0 or absent means as many as allowed (``cap``)."""
    limit = resolve_number(state.max_concurrency, value, ctx, "MaxConcurrency")
    if not limit:
        return cap
    return max(1, min(int(limit), cap))


def run_inline(state: State, value: Any, ctx: ContextFn, scope: Scope) -> list[Any]:
    items = map_items(state, value, ctx)
    scope.emit("MapStateStarted", {"length": len(items)})
    processor = state.processor
    assert processor is not None
    cap = min(INLINE_MAP_MAX_CONCURRENCY, scope.run.executor.max_threads)
    workers = map_concurrency(state, value, ctx, cap)

    def iteration(index: int) -> Job:
        def job(sub: Scope) -> Any:
            details = {"name": state.name, "index": index}
            sub.emit("MapIterationStarted", details)
            try:
                item_input = select_item(state, scope, value, index, items[index])
                output = run_machine(processor, item_input, sub)
            except StatesError:
                emit_quietly(sub, "MapIterationFailed", details)
                raise
            except ExecutionAbortedError:
                emit_quietly(sub, "MapIterationAborted", details)
                raise
            sub.emit("MapIterationSucceeded", details)
            return output

        return job

    return run_all([iteration(i) for i in range(len(items))], scope, workers)
