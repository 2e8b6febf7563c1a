"""Where runs happen, behind one interface (``base.Backend``); ``get_backend`` picks one by the
``--backend`` name. Backends never import the CLI."""

from __future__ import annotations

from .base import Backend
from .requests import RehearseRequest


def get_backend(name: str, *, stack: str = "wdl2sfn", region: str | None = None) -> Backend:
    """``local`` or ``aws`` (``stack``/``region``: where an AWS run is). Imported lazily so a
    local command never loads boto3."""
    if name == "aws":
        from .aws.backend import AwsBackend

        return AwsBackend(stack=stack, region=region)
    if name == "local":
        from .local.backend import LocalBackend

        return LocalBackend()
    raise ValueError(f"no backend {name!r} (local or aws)")


def rehearse(request: RehearseRequest) -> int:
    """`rehearse`: the stack's wiring on this machine (moto and the CDK app, loaded only
    here); its exit status."""
    from .rehearsal.command import cmd_rehearse

    return cmd_rehearse(request)


__all__ = ["Backend", "get_backend", "rehearse"]
