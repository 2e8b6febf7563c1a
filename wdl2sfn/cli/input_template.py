"""`wdl2sfn input-template WF.wdl`: the required inputs as JSON, as miniwdl's input-template."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from ..backends.errors import UsageError
from ..backends.workflow import load_document
from .options import Subparsers

if TYPE_CHECKING:
    import WDL


def add_parser(sub: Subparsers) -> None:
    it = sub.add_parser("input-template", help="print a JSON template of the required inputs")
    it.add_argument("wdl", metavar="WF.wdl")
    it.add_argument("-p", "--path", metavar="DIR", action="append", default=[])
    it.add_argument("--task", help="a task of the document instead of its workflow")
    it.add_argument("--no-quant-check", dest="check_quant", action="store_false")
    it.set_defaults(func=cmd_input_template)


def cmd_input_template(args: argparse.Namespace) -> int:
    """miniwdl input-template: the required inputs, with placeholder values."""
    from .. import wdl
    from ..compiler.task_wrapper import TaskSelectionError, pick_task

    doc = load_document(args.wdl, args.path, args.check_quant)
    exe: WDL.Tree.Workflow | WDL.Tree.Task | None = doc.workflow
    if exe is None or args.task:
        try:
            exe = pick_task(doc, args.task)
        except TaskSelectionError as exn:
            raise UsageError(str(exn)) from exn
    print(json.dumps(wdl.input_template(exe), indent=2))
    return 0
