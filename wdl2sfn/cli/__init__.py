"""The `wdl2sfn` command line: one thin module per command (parse, build a request, call a
backend, report). ``main`` is the console script's entry point."""

from .main import main

__all__ = ["main"]
