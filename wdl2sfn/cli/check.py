"""`wdl2sfn check WF.wdl [--strict]`: miniwdl's outline and lint, then the compile report."""

from __future__ import annotations

import argparse
import os
import sys

from ..backends.workflow import load_document
from .compile import report_at_widths
from .options import EXIT_USAGE, Subparsers, compile_args, compile_options, scatter_width_option


def add_parser(sub: Subparsers) -> None:
    ck = sub.add_parser(
        "check", help="check a WDL document: miniwdl's outline and lint, then the compile report"
    )
    compile_options(ck)
    ck.add_argument(
        "--strict", action="store_true", help="exit 2 if any lint warning is shown (as miniwdl)"
    )
    scatter_width_option(ck)
    ck.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """miniwdl check (outline, lint warnings) plus what the compiler makes of the workflow."""
    from .. import wdl
    from ..compiler.report import human_report

    doc = load_document(args.wdl, args.path, args.check_quant)
    outline, warnings = wdl.lint_outline(doc, os.path.basename(args.wdl))
    sys.stdout.write(outline)
    _, compiled = compile_args(args)
    print()
    print(human_report(report_at_widths(compiled.report, args.scatter_width)))
    if args.strict and warnings:
        print(f"wdl2sfn: {warnings} lint warning(s) shown (--strict)", file=sys.stderr)
        return EXIT_USAGE
    return 0
