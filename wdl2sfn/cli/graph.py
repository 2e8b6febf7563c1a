"""`wdl2sfn graph WF.wdl [--format mermaid|dot|svg] [-o FILE]`: the compiled machine drawn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..backends.errors import UsageError
from .options import Subparsers, compile_args, compile_options
from .run_options import check_writable_file


def add_parser(sub: Subparsers) -> None:
    g = sub.add_parser("graph", help="draw the compiled state machine")
    compile_options(g)
    g.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    g.add_argument("-o", "--output", help="write the picture here instead of stdout")
    g.set_defaults(func=cmd_graph)


def cmd_graph(args: argparse.Namespace) -> int:
    from ..compiler.graph import render

    if args.output:
        check_writable_file(args.output, "-o")
    _, compiled = compile_args(args)
    try:
        picture = render(compiled.definition, args.format)
    except RuntimeError as exn:
        raise UsageError(str(exn)) from exn
    if args.output:
        Path(args.output).write_text(picture)
    else:
        sys.stdout.write(picture)
    return 0
