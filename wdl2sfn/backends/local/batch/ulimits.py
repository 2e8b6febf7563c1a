"""A job definition's ``ulimits`` on podman: the limits it sets, and the engine's configured
defaults for the rest.

Docker merges a container's ``--ulimit`` with its daemon's ``default-ulimits``; podman 4 does
not: one ``--ulimit`` drops every ``default_ulimits`` of containers.conf, and the limits left out
fall back to podman's built-in ones, which a host like the CI machines refuses ("error setting
rlimit type 6: operation not permitted"). On AWS the limits a definition leaves out are the
instance's Docker defaults; here they are the engine's configured defaults, passed explicitly.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path

#: where podman reads containers.conf, lowest priority first (containers.conf(5))
CONTAINERS_CONF = (
    Path("/usr/share/containers/containers.conf"),
    Path("/etc/containers/containers.conf"),
    Path(os.path.expanduser("~/.config/containers/containers.conf")),
)


def configured_defaults(files: Sequence[Path] | None = None) -> list[str]:
    """``[containers] default_ulimits`` of the last file that sets it (``NAME=SOFT:HARD``)."""
    found: list[str] = []
    for path in CONTAINERS_CONF if files is None else files:
        try:
            conf = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        limits = (conf.get("containers") or {}).get("default_ulimits")
        if isinstance(limits, list):
            found = [str(limit) for limit in limits]
    return found


def with_defaults(ulimits: Sequence[str], runtime: str) -> list[str]:
    """The definition's limits, then (podman) the configured defaults it leaves out."""
    if not ulimits or runtime != "podman":
        return list(ulimits)
    named = {limit.split("=", 1)[0] for limit in ulimits}
    return [*ulimits, *(d for d in configured_defaults() if d.split("=", 1)[0] not in named)]
