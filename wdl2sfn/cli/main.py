"""The `wdl2sfn` command: parse, call the command's module, report failures as one line.

Conventions follow miniwdl (`-i inputs.json`, `name=value`, `--dir`, outputs JSON on stdout,
`--verbose`) and miniwdl-aws-submit (`--follow`, `--wait`, `--s3upload`, `--delete-after`,
`--no-cache`, `--self-test`). Progress goes to stderr; stdout carries only JSON. Each command
is one module of this package (its parser and its ``cmd_*``); backends never import the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys

from ..backends.errors import BackendError, UsageError
from . import (
    check,
    compile,
    deploy,
    graph,
    input_template,
    rehearse,
    resume,
    run,
    runs,
    self_test,
    stop,
)
from .options import EXIT_FAILED, EXIT_USAGE, fail_backend, fail_usage


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "command", None) in (
        "run",
        "rehearse",
    ):  # name=value inputs may follow options, as in miniwdl
        args.inputs += [e for e in extra if "=" in e and not e.startswith("-")]
        extra = [e for e in extra if not ("=" in e and not e.startswith("-"))]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a closed pipe fails here, inside the handler, not at exit
        return code
    except BrokenPipeError:
        return _closed_stdout()


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command; every failure ends as one line on stderr (a traceback only with
    --debug)."""
    try:
        return int(args.func(args))
    except UsageError as exn:
        sys.stderr.write(exn.details)
        if args.command == "check":  # as `miniwdl check`: the report on stderr, stdout empty
            print(exn, file=sys.stderr)
            return EXIT_USAGE
        return fail_usage(str(exn))
    except BackendError as exn:
        return fail_backend(exn)
    except KeyboardInterrupt:
        print("wdl2sfn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except Exception as exn:
        if getattr(args, "debug", False) or getattr(args, "debug_all", False):
            raise
        return _fail_unexpected(exn)


def _closed_stdout() -> int:
    """The reader of stdout went away (`wdl2sfn status RUN | head`): stop quietly, as cat does."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE


def _fail_unexpected(exn: Exception) -> int:
    """An error nobody planned for: one line naming it, and how to see more."""
    what = f"{type(exn).__name__}: {exn}" if str(exn) else type(exn).__name__
    if isinstance(exn, OSError) and exn.filename:
        what = f"{exn.filename}: {exn.strerror}"
    if isinstance(exn, OSError) and exn.errno in (errno.ENOSPC, errno.EDQUOT):
        print(f"wdl2sfn: disk full: {what}: free space and run again", file=sys.stderr)
        return EXIT_FAILED  # not a bug of ours: say what to do, not "internal error"
    print(f"wdl2sfn: {what} (internal error; run with --debug for the traceback)", file=sys.stderr)
    return EXIT_FAILED


class _Version(argparse.Action):
    """`--version`, reading the version only when asked (see `wdl2sfn.__getattr__`)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from .. import __version__

        print(f"wdl2sfn {__version__}")  # on stdout, as argparse's own "version" action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """Every command's parser, in the order `--help` lists them."""
    p = argparse.ArgumentParser(
        prog="wdl2sfn", description="WDL -> AWS Step Functions compiler and runner"
    )
    p.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    p.add_argument(
        "--debug", dest="debug_all", action="store_true", help="tracebacks for unexpected errors"
    )
    sub = p.add_subparsers(dest="command")
    compile.add_parser(sub)
    graph.add_parser(sub)
    run.add_parser(sub)
    check.add_parser(sub)
    input_template.add_parser(sub)
    self_test.add_parser(sub, main)
    runs.add_store_parsers(sub)
    runs.add_outputs_parser(sub)
    runs.add_files_parser(sub)
    resume.add_parser(sub, main)
    runs.add_cost_parser(sub)
    deploy.add_parser(sub)
    rehearse.add_parser(sub)
    stop.add_parser(sub)
    return p


if __name__ == "__main__":
    sys.exit(main())
