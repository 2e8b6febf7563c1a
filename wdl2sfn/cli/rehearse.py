"""`wdl2sfn rehearse`: the AWS stack's wiring, run on this machine (docs/rehearsal.md)."""

from __future__ import annotations

import argparse

from .options import Subparsers, compile_options


def add_parser(sub: Subparsers) -> None:
    from ..backends.rehearsal.command import add_arguments

    rh = sub.add_parser("rehearse", help="run the AWS stack's wiring on this machine (moto)")
    compile_options(rh, wdl_optional=True)
    add_arguments(rh)
    rh.set_defaults(func=cmd_rehearse)


def cmd_rehearse(args: argparse.Namespace) -> int:
    from ..backends.rehearsal.command import cmd_rehearse as rehearse

    return rehearse(args)
