"""The errors a command reports as one line a human can act on, raised by the CLI and the
backends alike (so they live below both)."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input detected before anything runs (exit 2); the message is one line a user can
    act on, naming the option, input or file. ``details`` is what a human reads above that line
    (a WDL error's source excerpts), printed to stderr only."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class BackendError(Exception):
    """A backend's failure with a message a human can act on: reported as an error JSON on
    stdout and ``wdl2sfn: MESSAGE`` on stderr; ``exit_code`` 2 when nothing ran yet."""

    def __init__(self, message: str, *, error: str = "BackendError", exit_code: int = 1):
        super().__init__(message)
        self.error = error
        self.exit_code = exit_code
