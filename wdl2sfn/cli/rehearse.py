"""`wdl2sfn rehearse`: the AWS stack's wiring, run on this machine (docs/rehearsal.md).

* ``wdl2sfn rehearse --serve [-c KEY=VALUE ...]``: serve a rehearsed account until interrupted;
* ``wdl2sfn rehearse WF.wdl [-i in.json] [name=value ...] [-c ...] [--dir D]``: deploy, run and
  wait as ``run --backend aws`` does, against the rehearsed account.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..backends import rehearse
from ..backends.requests import CONTAINER_CHOICES, RehearseRequest
from ..backends.workflow import CompileOptions
from ..contract.settings import load_settings
from .options import Subparsers, compile_options
from .run_options import container_setting


def add_parser(sub: Subparsers) -> None:
    rh = sub.add_parser("rehearse", help="run the AWS stack's wiring on this machine (moto)")
    compile_options(rh, wdl_optional=True)
    rh.add_argument("inputs", nargs="*", metavar="NAME=VALUE", help="workflow inputs, as run")
    rh.add_argument("-i", "--input", "--inputs", dest="input_file", metavar="INPUTS.json")
    rh.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE",
                    help="a CDK context key of the stack (e.g. -c variant=fsx)")  # fmt: skip
    rh.add_argument("--serve", action="store_true", help="serve the account until interrupted")
    rh.add_argument("--fire-schedules", action="store_true",
                    help="(--serve) start each Scheduler schedule's target once")  # fmt: skip
    rh.add_argument("--dir", default=load_settings().rehearsal_dir,
                    help="rehearsal folders are made under it")  # fmt: skip
    rh.add_argument("--port", type=int, default=0, help="(--serve) moto's port (default: any)")
    rh.add_argument("--container", choices=CONTAINER_CHOICES, default=None,
                    help="how Batch jobs run: in their job definitions' images with docker or "
                    "podman, or as host processes; auto (default: $WDL2SFN_CONTAINER, else auto) "
                    "takes the engine that answers, else the host")  # fmt: skip
    rh.add_argument("--verbose", action="store_true")
    rh.set_defaults(func=cmd_rehearse)


def cmd_rehearse(args: argparse.Namespace) -> int:
    if args.container is None:
        args.container = container_setting()  # a bad WDL2SFN_CONTAINER: UsageError, exit 2
    options = None
    if args.wdl:
        options = CompileOptions(
            wdl=args.wdl,
            path=list(args.path or []),
            check_quant=args.check_quant,
            task=args.task,
            max_concurrency=args.max_concurrency,
            concurrency_ceiling=args.concurrency_ceiling,
            subworkflows=args.subworkflows,
            max_definition_bytes=args.max_definition_bytes,
        )
    request = RehearseRequest(
        context=list(args.context),
        dir=Path(args.dir),
        serve=args.serve,
        fire_schedules=args.fire_schedules,
        port=args.port,
        verbose=args.verbose,
        container=args.container,
        compile=options,
        inputs=list(args.inputs),
        input_file=args.input_file,
    )
    return rehearse(request)
