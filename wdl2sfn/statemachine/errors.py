"""Step Functions error names, the exceptions that carry them, and the ErrorEquals matching rules.

Why a module of its own: the executor, the path processor, the intrinsic functions and the
resource handlers all raise errors that must end up with exactly the name AWS would report, and
Retry/Catch must match them by the rules of the AWS documentation ("Error handling in Step
Functions"):

* ``States.ALL`` matches every error name except the terminal ``States.DataLimitExceeded`` and
  ``States.Runtime``.
* ``States.Runtime`` is never retried or caught, even when named explicitly ("A States.Runtime
  error isn't retriable, and will always cause the execution to fail").
* ``States.DataLimitExceeded`` is not matched by ``States.ALL``; it can be named explicitly.
* ``States.TaskFailed`` acts as a wildcard for any error except ``States.Timeout`` (and the
  terminal errors above).
* ``States.Timeout`` also matches ``States.HeartbeatTimeout``.
"""

from __future__ import annotations

from collections.abc import Iterable

ALL = "States.ALL"
RUNTIME = "States.Runtime"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
BRANCH_FAILED = "States.BranchFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
ITEM_READER_FAILED = "States.ItemReaderFailed"
RESULT_WRITER_FAILED = "States.ResultWriterFailed"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
PERMISSIONS = "States.Permissions"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"

#: Errors that never reach a retrier or catcher.
UNCATCHABLE = frozenset({RUNTIME})
#: Errors that ``States.ALL`` (and the ``States.TaskFailed`` wildcard) do not match.
TERMINAL = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class TaskFailure(Exception):
    """Raised by a resource handler: the state fails with this Step Functions error name and cause."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class StatesError(Exception):
    """A state failed with a Step Functions error (raised inside the executor, matched by Retry/Catch)."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class DefinitionError(ValueError):
    """The state machine definition is invalid (AWS would reject it at CreateStateMachine)."""


class ExecutionAbortedError(Exception):
    """The scope running this state was aborted (execution stopped, or a sibling branch failed)."""


def error_matches(error_equals: Iterable[str], error: str) -> bool:
    """Whether a retrier's or catcher's ErrorEquals list matches ``error``, by AWS's rules."""
    if error in UNCATCHABLE:
        return False
    for name in error_equals:
        if name == error:
            return True
        if error in TERMINAL:
            continue
        if name == ALL:
            return True
        if name == TASK_FAILED and error not in (TIMEOUT, HEARTBEAT_TIMEOUT):
            return True
        if name == TIMEOUT and error == HEARTBEAT_TIMEOUT:
            return True
    return False
