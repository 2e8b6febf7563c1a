"""Is the ``rehearse`` extra installed? Asked before anything imports moto or the CDK app.

The rehearsal needs moto's server and the CDK app (``wdl2sfn_cdk``, with aws-cdk-lib), which a
plain ``pip install wdl2sfn`` leaves out; without this check ``wdl2sfn rehearse`` would end in an
ImportError deep in a thread instead of saying what to install. Importing this module imports
none of them.
"""

from __future__ import annotations

from importlib.util import find_spec

INSTALL_HINT = "pip install 'wdl2sfn[rehearse]'"
#: module -> the distribution that provides it (for the message)
REQUIRED = {
    "moto": "moto[server]",
    "flask": "moto[server]",
    "aws_cdk": "aws-cdk-lib",
    "constructs": "constructs",
    "cdk_nag": "cdk-nag",
    "wdl2sfn_cdk": "wdl2sfn (with its CDK app)",
}


class RehearsalNotInstalled(RuntimeError):
    """The ``rehearse`` extra (or part of it) is missing; the message says how to install it."""


def missing_modules() -> list[str]:
    """The modules of the extra that cannot be imported here, in a stable order."""
    missing = []
    for module in REQUIRED:
        try:
            found = find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(module)
    return missing


def require_rehearse_extra() -> None:
    """Raise :class:`RehearsalNotInstalled` naming what is missing and the install command."""
    missing = missing_modules()
    if missing:
        wanted = sorted({REQUIRED[m] for m in missing})
        raise RehearsalNotInstalled(
            f"rehearse needs the optional extra 'rehearse' ({', '.join(wanted)} not installed): "
            f"{INSTALL_HINT}"
        )
