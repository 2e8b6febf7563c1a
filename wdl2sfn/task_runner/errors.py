"""Errors raised by the run-time steps.

The exception's class name is the Step Functions error name (a Lambda handler that raises
``WdlTaskFailed`` makes the Task state fail with ``Error: "WdlTaskFailed"``), so ASL ``Catch`` and
``Retry`` rules can match on them. ``str(exn)`` is the human-readable message (it becomes
``errorMessage`` in the Lambda error Cause); ``exn.info`` holds the structured details, and
``exn.error_json()`` gives a dict in the shape of miniwdl's ``--error-json`` output.
"""

from __future__ import annotations

from typing import Any

import WDL

from ..wdl import is_output_error

__all__ = [
    "WdlError",
    "WdlInputError",
    "WdlEvalError",
    "WdlRuntimeError",
    "WdlOutputError",
    "WdlTaskFailed",
    "from_miniwdl",
]


class WdlError(Exception):
    """Base class of every error a run-time step raises on purpose."""

    info: dict[str, Any]

    def __init__(self, message: str, **info: Any) -> None:
        super().__init__(message)
        self.info = {k: v for k, v in info.items() if v is not None}

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def error_json(self) -> dict[str, Any]:
        """``{"error": <class name>, "message": ..., **info}`` (miniwdl ``--error-json`` shape)."""
        ans: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        ans.update(self.info)
        return ans


class WdlInputError(WdlError):
    """A call input is missing, has the wrong type, or names a file that cannot be localized."""


class WdlEvalError(WdlError):
    """A WDL expression (input default, declaration, runtime, command) failed to evaluate."""


class WdlRuntimeError(WdlError):
    """An invalid runtime{} setting (memory, returnCodes, queue...)."""


class WdlOutputError(WdlError):
    """A task output could not be evaluated: missing file, path outside the task's work directory..."""


class WdlTaskFailed(WdlError):
    """The task's command failed (exit status not allowed by returnCodes), its job never
    finished, or its outputs could not be collected."""


def from_miniwdl(exn: BaseException, call: str | None = None) -> WdlError:
    """Translate a miniwdl error (``WDL.Error.*``) into the matching ``Wdl*`` error."""
    if isinstance(exn, WdlError):
        return exn
    pos = getattr(exn, "pos", None)
    where = None
    if pos is not None:
        where = {"source": pos.uri, "line": pos.line, "column": pos.column}
    msg = str(exn) or type(exn).__name__
    if call:
        msg = f"call {call}: {msg}"
    cls: type[WdlError]
    if isinstance(exn, WDL.Error.InputError):
        cls = WdlInputError
    elif is_output_error(exn):
        cls = WdlOutputError
    elif isinstance(exn, WDL.Error.EvalError):
        cls = WdlEvalError
    elif isinstance(exn, WDL.Error.RuntimeError):
        cls = WdlRuntimeError
    else:
        cls = WdlEvalError
    return cls(msg, call=call, pos=where, cause=type(exn).__name__)
