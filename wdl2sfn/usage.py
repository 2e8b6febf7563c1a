"""The error for bad input detected before anything runs (exit status 2)."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input detected before anything runs (exit 2); the message is one line a user can
    act on, naming the option, input or file."""
