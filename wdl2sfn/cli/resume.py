"""`wdl2sfn resume RUN`: a failed run again, from where it failed (docs/aws-backend.md). AWS:
RedriveExecution where allowed, else a new execution reusing the call cache. Local: the run's
`rerun` command again (same inputs and options), with the call cache on."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from ..backends.requests import Rerun, ResumeRequest
from .options import Subparsers, backend_of, backend_options, dir_option, run_ref


def add_parser(sub: Subparsers, main: Callable[[list[str]], int]) -> None:
    """``main`` runs a local run's `rerun` command line (this module cannot import it)."""
    rs = sub.add_parser(
        "resume",
        help="resume a failed run (aws: RedriveExecution, else a new execution with the cache; "
        "local: run again with the call cache)",
    )
    rs.add_argument("run", help="run name, run folder, or (aws) execution ARN")
    dir_option(rs)
    backend_options(rs)
    rs.add_argument("--wait", action="store_true", help="(aws) wait for the end")
    rs.add_argument("--follow", action="store_true", help="(aws) show progress until the end")
    rs.add_argument("--verbose", action="store_true")
    rs.set_defaults(func=lambda args: cmd_resume(args, main))


def cmd_resume(args: argparse.Namespace, main: Callable[[list[str]], int]) -> int:
    name = "aws" if str(args.run).startswith("arn:") else None
    request = ResumeRequest(run_ref(args), args.wait, args.follow, args.verbose)
    resumed = backend_of(args, name).resume(request)
    if isinstance(resumed, Rerun):
        os.chdir(resumed.folder)
        return main(resumed.argv)
    return resumed.emit()
