"""`wdl2sfn deploy WF.wdl --stack NAME`: (aws) create or update the workflow's state machine."""

from __future__ import annotations

import argparse

from ..backends.requests import DeployRequest
from ..contract.settings import load_settings
from .options import Subparsers, backend_of, compile_args, compile_options, print_json


def add_parser(sub: Subparsers) -> None:
    dp = sub.add_parser("deploy", help="(aws) create or update the workflow's state machine")
    compile_options(dp)
    dp.add_argument("--stack", default=load_settings().stack or "wdl2sfn")
    dp.add_argument("--region", default=None)
    dp.add_argument("--role-arn", default=None, help="role for a new state machine")
    dp.add_argument(
        "--rollback",
        action="store_true",
        help="point the alias 'live' back at the previous version (nothing is deployed)",
    )
    dp.set_defaults(func=cmd_deploy)


def cmd_deploy(args: argparse.Namespace) -> int:
    backend = backend_of(args, "aws")
    _, compiled = compile_args(args, backend)
    return print_json(backend.deploy(DeployRequest(compiled, args.role_arn, args.rollback)))
