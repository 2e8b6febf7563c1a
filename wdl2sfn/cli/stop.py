"""`wdl2sfn stop RUN`: (aws) stop a run and terminate its Batch jobs."""

from __future__ import annotations

import argparse

from .options import Subparsers, backend_of, backend_options, print_json, run_ref


def add_parser(sub: Subparsers) -> None:
    sp = sub.add_parser("stop", help="(aws) stop a run and terminate its Batch jobs")
    sp.add_argument("run", metavar="RUN", help="execution ARN or run name")
    backend_options(sp, default="aws", choices=("aws",))
    sp.set_defaults(func=cmd_stop, dir=None)


def cmd_stop(args: argparse.Namespace) -> int:
    """An execution ARN names its region."""
    if str(args.run).startswith("arn:") and not args.region:
        args.region = str(args.run).split(":")[3]
    return print_json(backend_of(args).stop(run_ref(args)))
