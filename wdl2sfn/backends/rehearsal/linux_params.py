"""A registered job definition's ``linuxParameters``, applied as ECS applies them where a
container engine can, and said where it cannot.

AWS Batch, LinuxParameters (https://docs.aws.amazon.com/batch/latest/APIReference/API_LinuxParameters.html):
``sharedMemorySize`` "The value for the size (in MiB) of the /dev/shm volume. This parameter
maps to the --shm-size option to docker run"; ``devices`` "maps to Devices ... and the --device
option to docker run" (hostPath, containerPath, permissions READ | WRITE | MKNOD);
``initProcessEnabled`` "maps to the --init option to docker run"; ``tmpfs`` "maps to the --tmpfs
option" (containerPath, size in MiB, mountOptions); ``maxSwap`` / ``swappiness`` map to
``--memory-swap`` / ``--memory-swappiness``. Jobs that run as host processes (no engine, or the
stack's runner) get none of these: the job's log says which were not applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PERMISSIONS = {"READ": "r", "WRITE": "w", "MKNOD": "m"}


def engine_options(params: Mapping[str, Any], memory_mib: int | None) -> list[str]:
    """The ``docker run`` / ``podman run`` options for ``params``; ``memory_mib`` is the job's
    MEMORY (``maxSwap`` adds to it: docker's --memory-swap is memory plus swap)."""
    options: list[str] = []
    if params.get("sharedMemorySize"):
        options.append(f"--shm-size={int(params['sharedMemorySize'])}m")
    for device in params.get("devices") or []:
        perms = "".join(PERMISSIONS.get(p, "") for p in device.get("permissions") or [])
        target = device.get("containerPath") or device["hostPath"]
        options.append(f"--device={device['hostPath']}:{target}" + (f":{perms}" if perms else ""))
    if params.get("initProcessEnabled"):
        options.append("--init")
    for mount in params.get("tmpfs") or []:
        opts = [f"size={int(mount['size'])}m", *(mount.get("mountOptions") or [])]
        options.append(f"--tmpfs={mount['containerPath']}:{','.join(opts)}")
    if params.get("maxSwap") is not None and memory_mib:
        options.append(f"--memory-swap={memory_mib + int(params['maxSwap'])}m")
    if params.get("swappiness") is not None:
        options.append(f"--memory-swappiness={int(params['swappiness'])}")
    return options


def not_applied_on_host(props: Mapping[str, Any]) -> str | None:
    """What a host-process job does not get of its definition's container properties
    (``user``, ``ulimits``, ``linuxParameters``): a line for its log, or None."""
    params = props.get("linuxParameters") or {}
    given = [f"linuxParameters.{k}" for k, v in sorted(params.items()) if v not in _UNSET]
    given = [k for k in ("user", "ulimits") if props.get(k) not in _UNSET] + given
    if not given:
        return None
    return (
        f"WARNING: {', '.join(given)} not applied: the rehearsal runs this job as a host "
        "process of this machine's user, not in a container (docs/rehearsal.md)"
    )


_UNSET: tuple[Any, ...] = (None, [], {}, False, 0, "")
