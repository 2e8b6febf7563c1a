#!/usr/bin/env python3
"""`miniwdl` CLI with the host-subprocess container backend (bench/miniwdl_host_backend.py).

Why this exists: there is no Docker engine on the development machine, so stock `miniwdl run`
cannot run any task. To benchmark wdl2sfn's local executor against miniwdl and to measure
miniwdl's own conformance on the WDL spec examples, this wrapper makes miniwdl run task commands
directly on the host, without installing a package:

    python bench/miniwdl_host.py run wf.wdl -i in.json --dir D

behaves like `miniwdl run` (same arguments, same `{"dir": ..., "outputs": ...}` JSON on stdout,
nonzero exit status on failure), with `[scheduler] container_backend = host`.

miniwdl finds container backends through `WDL.runtime.config.default_plugins()` plus the
`miniwdl.plugin.container_backend` entry points; we wrap `default_plugins()` to add the entry point
`host = miniwdl_host_backend:HostContainer` (so it goes through miniwdl's usual plugin
enable/disable patterns), and select it by setting MINIWDL__SCHEDULER__CONTAINER_BACKEND=host
unless that is already set in the environment.
"""

import os
import sys
from importlib import metadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import WDL.CLI  # noqa: E402
from WDL.runtime import config  # noqa: E402

BACKEND_NAME = "host"
_default_plugins = config.default_plugins


def _default_plugins_with_host():
    ans = _default_plugins()
    ans["container_backend"].append(
        metadata.EntryPoint(
            group="miniwdl.plugin.container_backend",
            name=BACKEND_NAME,
            value="miniwdl_host_backend:HostContainer",
        )
    )
    return ans


def register() -> None:
    """Make container backend "host" available to miniwdl in this process and select it."""
    if config.default_plugins is not _default_plugins_with_host:
        config.default_plugins = _default_plugins_with_host
    os.environ.setdefault("MINIWDL__SCHEDULER__CONTAINER_BACKEND", BACKEND_NAME)


def main(argv=None) -> int:
    register()
    return WDL.CLI.main(sys.argv[1:] if argv is None else argv) or 0


if __name__ == "__main__":
    sys.exit(main())
