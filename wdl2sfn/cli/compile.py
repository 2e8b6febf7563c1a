"""`wdl2sfn compile WF.wdl [-o OUT.json] [--report]`: the ASL state machine (JSON on stdout)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends.errors import UsageError
from .options import Subparsers, compile_args, compile_options, scatter_width_option
from .run_options import check_writable_file

if TYPE_CHECKING:
    from ..compiler import CompiledWorkflow


def add_parser(sub: Subparsers) -> None:
    c = sub.add_parser("compile", help="compile WDL into an ASL state machine (JSON on stdout)")
    compile_options(c)
    c.add_argument("-o", "--output", help="write the ASL JSON here instead of stdout")
    c.add_argument("--report", action="store_true", help="print the quota/cost report to stderr")
    c.add_argument("--report-json", metavar="FILE", help="write the report as JSON")
    scatter_width_option(c)
    c.set_defaults(func=cmd_compile)


def cmd_compile(args: argparse.Namespace) -> int:
    if args.output:
        check_writable_file(args.output, "-o")
    if args.report_json:
        check_writable_file(args.report_json, "--report-json")
    from ..compiler.asl import definition_text
    from ..compiler.report import human_report

    _, compiled = compile_args(args)
    report = report_at_widths(compiled.report, args.scatter_width)
    if args.output:  # exactly what deploy sends (the report's definition_bytes measure it)
        Path(args.output).write_text(definition_text(compiled.definition))
        for name, child in compiled.all_machines().items():
            child_path(args.output, name).write_text(definition_text(child.definition))
    else:
        _refuse_dropping_children(compiled)
        sys.stdout.write(json.dumps(compiled.definition, indent=2) + "\n")
    if args.report:
        print(human_report(report), file=sys.stderr)
    if args.report_json:
        Path(args.report_json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def child_path(output: str, child: str) -> Path:
    """Where ``-o OUTPUT`` writes child machine CHILD: ``many.json`` -> ``many.<child>.json``;
    any other name keeps all of itself (``plan.asl`` -> ``plan.asl.<child>.json``), so no two
    outputs (``plan.asl``, ``plan.yaml``) write the same child file."""
    path = Path(output)
    stem = path.name[: -len(".json")] if path.name.endswith(".json") else path.name
    return path.with_name(f"{stem}.{child}.json")


def report_at_widths(report: dict[str, Any], values: list[str]) -> dict[str, Any]:
    """The report with its run priced at the --scatter-width values (`N` or `NAME=N`)."""
    from ..compiler.report import with_widths

    names = [w["name"] for w in report["run_cost"]["widths"]]
    given: dict[str, int] = {}
    for value in values:
        name, _, number = value.rpartition("=")
        if not number.isdigit() or int(number) < 1:
            raise UsageError(f"--scatter-width {value}: expected N or NAME=N, N a whole number ≥ 1")
        matches = [n for n in names if not name or name in (n, n.split("@")[0])]
        if not matches:
            known = ", ".join(names) or "none"
            raise UsageError(
                f"--scatter-width {value}: no scatter named {name} (scatters: {known})"
            )
        given.update(dict.fromkeys(matches, int(number)))
    if not given:
        return report
    return {**report, "run_cost": with_widths(report["run_cost"], given)}


def _refuse_dropping_children(compiled: CompiledWorkflow) -> None:
    """stdout holds one JSON document: a workflow compiled to several state machines
    (--subworkflows machine, or split past --max-definition-bytes) needs -o for the others."""
    children = sorted(compiled.all_machines())
    if children:
        raise UsageError(
            f"{compiled.name} compiles to {len(children) + 1} state machines (children: "
            f"{', '.join(children)}): give -o FILE to write them all "
            "(-o many.json writes many.json and many.<child>.json)"
        )
