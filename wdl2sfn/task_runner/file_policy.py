"""Which files a workflow may touch: those supplied as its inputs and those its calls produced.

miniwdl refuses, at the workflow level, any local path that was neither given as a workflow input
nor produced by a call (``[file_io] allow_any_input = false``, its default), so a workflow cannot
``read_string("/etc/shadow")``, output ``File f = "/etc/hostname"`` or hand a host path to a task.
wdl2sfn applies the same rule where a file is actually used: a read_* / size() at the workflow
level, a task call's inputs (the task would read them) and the workflow outputs. A File value that
is only declared, compared or printed stays legal, as the WDL 1.1 specification's examples expect
(``File x = "/hij"`` compared as a string).

The rule is stateless, so every step (a fresh Lambda as much as the local process) decides alike:

* a URI is allowed (downloaded like any input);
* a path given in the run's inputs, or inside a Directory given there, is allowed;
* a path that resolves (symlinks followed) into a call folder of the store,
  ``<root>/<run>/calls/...``, was produced by a call (task outputs are confined to their call's
  ``work/`` after symlinks, and a cache hit's outputs live in the earlier run's call folder);
  so is one written by write_* in this run's ``_write/`` and a download in ``_DOWNLOADS/``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import WDL

from ..wdl import path_really_within
from .errors import WdlInputError
from .localize import is_uri, uri_and_local_paths
from .store import RunStore

Bindings = WDL.Env.Bindings[WDL.Value.Base]


@dataclass(frozen=True)
class WorkflowFiles:
    """The file-access policy of one run (see module doc)."""

    store_root: str
    run: str
    input_files: frozenset[str]
    input_dirs: tuple[str, ...]
    downloads: str = ""  # the store's downloaded URIs (any run may use them)

    @classmethod
    def of_run(cls, store_root: Path, run: str, inputs: Bindings) -> WorkflowFiles:
        files, dirs = set(), []
        for path, directory in uri_and_local_paths(inputs):
            if not is_uri(path):
                ap = os.path.abspath(path.rstrip("/"))
                files.add(ap)
                if directory:
                    dirs.append(ap)
        downloads = os.path.realpath(RunStore(Path(store_root)).downloads_dir())
        return cls(os.path.realpath(store_root), run, frozenset(files), tuple(dirs), downloads)

    @functools.cached_property
    def user_inodes(self) -> frozenset[tuple[int, int]]:
        """(device, inode) of each File the user gave the run: a task may output one under
        another name (``ln input out.txt``), and the store must never chmod it (issue 24)."""
        found = set()
        for path in self.input_files:
            try:
                st = os.stat(path)
            except OSError:
                continue
            found.add((st.st_dev, st.st_ino))
        return frozenset(found)

    def allowed(self, path: str) -> bool:
        if is_uri(path):
            return True
        ap = os.path.abspath(path.rstrip("/"))
        if ap in self.input_files or any(path_really_within(ap, d) for d in self.input_dirs):
            return True
        real = os.path.realpath(ap)
        if self.downloads and path_really_within(real, self.downloads):
            return True
        if not real.startswith(self.store_root + os.sep):
            return False
        parts = os.path.relpath(real, self.store_root).split(os.sep)
        return (len(parts) > 2 and parts[1] == RunStore.CALLS and not parts[0].startswith("_")) or (
            len(parts) > 2 and parts[0] == self.run and parts[1] == "_write"
        )

    def check(self, path: str, use: str) -> str:
        """``path`` if allowed, else a WdlInputError naming the use and the path."""
        if not self.allowed(path):
            raise WdlInputError(
                f"{use} uses a file that is neither a workflow input nor produced by a call: "
                f"{path}",
                path=path,
            )
        return path

    def check_values(self, env: Bindings, use: str) -> None:
        """Every File/Directory in ``env`` (call inputs, workflow outputs) must be allowed."""
        for b in env:
            for path, _directory in uri_and_local_paths(WDL.Env.Bindings(b)):
                self.check(path, f"{use} {b.name}")
