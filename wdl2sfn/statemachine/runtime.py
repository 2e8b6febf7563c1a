"""Run-time plumbing shared by the state runners: abort tokens and the public records (TaskCall,
ExecutionResult) that handlers and callers see. Scopes live with the execution they belong to
(``execution.py``), so this module imports nothing of the executor but its errors.

An *abort token* forms a tree mirroring the execution: the execution, each Parallel branch and
Map iteration, each task call. Setting a token sets every token below it, so stopping the
execution, a failing sibling branch or a task timeout reach exactly the handlers they should
(each handler waits on its own ``TaskCall.abort`` event).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ExecutionAbortedError


@dataclass
class TaskCall:
    """What a resource handler receives for one attempt of a Task state."""

    resource: str
    parameters: Any
    execution_name: str
    state_name: str
    abort: threading.Event
    timeout_seconds: float | None
    #: HeartbeatSeconds of the state, if any; call ``heartbeat()`` at least that often.
    heartbeat_seconds: float | None = None
    heartbeat: Callable[[], None] = field(default=lambda: None)
    #: 0 for the first attempt, then 1, 2... for each retry (``$$.State.RetryCount``).
    retry_count: int = 0
    #: a ``.sync`` handler calls this with the submission response (Batch: JobArn, JobId,
    #: JobName) as soon as the work is submitted: the TaskSubmitted event is written then.
    submitted: Callable[[Any], None] = field(default=lambda output: None)
    #: the state machine whose role makes the call (a Map Run child: its parent machine's ARN)
    state_machine_arn: str = ""


ResourceHandler = Callable[[TaskCall], Any]
#: ``authorize(state_machine_arn, action, resource)``: raise a TaskFailure when the machine's role
#: may not do ``action`` on ``resource`` (the AWS rehearsal binds one; locally nothing is checked)
Authorizer = Callable[[str, str, str], None]


@dataclass
class ExecutionResult:
    """How an execution ended."""

    name: str
    status: str  # "SUCCEEDED" | "FAILED" | "ABORTED" | "TIMED_OUT"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history_path: Path | None = None
    event_count: int = 0


class AbortToken:
    """A node of the abort tree; ``event`` is set when this node or any ancestor is aborted."""

    __slots__ = ("event", "_children", "_lock", "_parent")

    def __init__(self, parent: AbortToken | None = None) -> None:
        self.event = threading.Event()
        self._children: set[AbortToken] = set()
        self._lock = threading.Lock()
        self._parent = parent
        if parent is not None:
            parent._adopt(self)

    def _adopt(self, child: AbortToken) -> None:
        with self._lock:
            if not self.event.is_set():
                self._children.add(child)
                return
        child.set()

    def set(self) -> None:
        """Abort this node and everything below it."""
        with self._lock:
            self.event.set()
            children = list(self._children)
            self._children.clear()
        for child in children:
            child.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def check(self) -> None:
        """Raise ExecutionAbortedError if aborted."""
        if self.event.is_set():
            raise ExecutionAbortedError("aborted")

    def release(self) -> None:
        """Detach from the parent once this scope is finished (keeps the tree small)."""
        parent = self._parent
        if parent is not None:
            with parent._lock:
                parent._children.discard(self)
            self._parent = None
