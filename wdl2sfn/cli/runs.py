"""`wdl2sfn list|status|logs|outputs|files|cost`: what the run store (or AWS) says of runs.
Each asks the backend ``--backend`` names and prints its answer as JSON (logs: as text)."""

from __future__ import annotations

import argparse
import sys

from ..backends.requests import FilesRequest, OutputsRequest
from .options import Subparsers, backend_of, backend_options, dir_option, print_json, run_ref


def add_store_parsers(sub: Subparsers) -> None:
    """`list`, `status RUN`, `logs RUN`: what is in the run store (or on AWS)."""
    ls = sub.add_parser("list", help="list runs (local, or --backend aws)")
    dir_option(ls)
    backend_options(ls)
    ls.set_defaults(func=cmd_list)
    st = sub.add_parser("status", help="status of a run (local, or --backend aws)")
    st.add_argument("run")
    dir_option(st)
    backend_options(st)
    st.set_defaults(func=cmd_status)
    lg = sub.add_parser("logs", help="stderr of a run's calls (aws: their CloudWatch streams)")
    lg.add_argument("run")
    dir_option(lg)
    backend_options(lg)
    lg.set_defaults(func=cmd_logs)


def add_outputs_parser(sub: Subparsers) -> None:
    """`outputs RUN [--get DEST]`: a run's outputs JSON; on AWS, downloaded with --get."""
    op = sub.add_parser("outputs", help="a run's outputs (aws: from S3; --get downloads them)")
    op.add_argument("run")
    dir_option(op)
    op.add_argument("--get", metavar="DEST", help="(aws) download the run's outputs and logs here")
    backend_options(op)
    op.set_defaults(func=cmd_outputs)


def add_files_parser(sub: Subparsers) -> None:
    """`files RUN [PATH] [-r] [--get DEST]`: a run folder, listed or fetched (aws: by a job)."""
    fp = sub.add_parser(
        "files", help="list or fetch files of a run folder (aws: on EFS/FSx, via a runner job)"
    )
    fp.add_argument("run")
    fp.add_argument(
        "path",
        nargs="?",
        default="",
        help="a file or folder inside the run folder (default: its top; -r for everything)",
    )
    fp.add_argument("-r", "--recursive", action="store_true", help="list whole subfolders")
    dir_option(fp)
    fp.add_argument("--get", metavar="DEST", help="copy the file or folder to DEST/<run>/...")
    backend_options(fp)
    fp.set_defaults(func=cmd_files)


def add_cost_parser(sub: Subparsers) -> None:
    """`cost RUN`: what a run cost, beside a miniwdl-aws engine job (docs/cost.md)."""
    cp = sub.add_parser("cost", help="what a run cost (transitions, Lambda, Batch) vs miniwdl-aws")
    cp.add_argument("run", help="run name, run folder, or (aws) execution ARN")
    dir_option(cp)
    backend_options(cp)
    cp.set_defaults(func=cmd_cost)


def cmd_list(args: argparse.Namespace) -> int:
    return print_json(backend_of(args).list_runs(run_ref(args)))


def cmd_status(args: argparse.Namespace) -> int:
    return print_json(backend_of(args).status(run_ref(args)))


def cmd_logs(args: argparse.Namespace) -> int:
    for text in backend_of(args).logs(run_ref(args)):
        sys.stdout.write(text)
    return 0


def cmd_outputs(args: argparse.Namespace) -> int:
    return print_json(backend_of(args).outputs(OutputsRequest(run_ref(args), args.get)))


def cmd_files(args: argparse.Namespace) -> int:
    request = FilesRequest(run_ref(args), args.path, args.recursive, args.get)
    return print_json(backend_of(args).files(request))


def cmd_cost(args: argparse.Namespace) -> int:
    """Measured from the run's execution histories (an execution ARN is always on AWS)."""
    name = "aws" if str(args.run).startswith("arn:") else None
    return print_json(backend_of(args, name).cost(run_ref(args)))
