"""`wdl2sfn run WF.wdl [-i INPUTS] [NAME=VALUE ...] [--backend local|aws] ...`: validate the
options, let the backend check what it can, compile, parse the inputs, run, report."""

from __future__ import annotations

import argparse

from ..backends.requests import RunRequest
from ..backends.workflow import parse_inputs
from .options import Subparsers, backend_of, compile_args, compile_options
from .run_options import add_run_arguments, read_inputs_argument, validate


def add_parser(sub: Subparsers) -> None:
    """`run`: value_options lets `key=value` inputs be told from options that take a value."""
    r = sub.add_parser(
        "run",
        help="run a workflow (locally by default)",
        description="Run a workflow (or a lone task). Each run gets a timestamped folder under "
        "--dir (default: $WDL2SFN_DIR, else the current directory, as miniwdl), with a "
        "`rerun` script, `out/` links to the outputs, and the run's logs and history.",
    )
    compile_options(r)
    add_run_arguments(r)
    r.set_defaults(
        func=cmd_run,
        value_options=frozenset(o for a in r._actions if a.nargs != 0 for o in a.option_strings),
    )


def cmd_run(args: argparse.Namespace) -> int:
    options = validate(args)
    backend = backend_of(args)
    backend.check_run(options)
    doc, compiled = compile_args(args, backend)
    inputs = parse_inputs(doc, args.inputs, read_inputs_argument(args.input_file))
    return backend.run(RunRequest(options, doc, compiled, inputs)).emit()
