"""The StdLib a call evaluates with: where write_* files go and which paths read_* may open."""

from __future__ import annotations

import glob as globlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import WDL

from ... import wdl as adapter
from ..errors import WdlInputError, WdlOutputError
from ..store import RunStore
from .context import is_wdl12


def call_stdlib(
    task: WDL.Tree.Task,
    call_dir: Path,
    *,
    outputs: bool,
    trusted: set[str],
) -> WDL.StdLib.Base:
    """A StdLib for this call: write_* into ``<call_dir>/write_/`` under content-addressed names
    (so re-evaluation is byte-identical); read_* confined to the call directory and its inputs;
    in the output section stdout()/stderr()/glob() and paths relative to ``work/``."""
    paths = _CallPaths(
        cdir=str(call_dir),
        outputs=outputs,
        trusted=trusted,
        source_dir=getattr(task, "source_dir", "") or "",
        wdl12=is_wdl12(task),
    )
    return adapter.HookedStdLib(
        task.effective_wdl_version,
        write_dir=paths.write_dir,
        devirtualize=paths.devirtualize,
        virtualize=paths.virtualize,
        resolve_relative=paths.resolve_relative,
        join_paths_dir=paths.work,
        extra=paths.output_functions() if outputs else {},
    )


@dataclass
class _CallPaths:
    """The paths policy of one call's StdLib. ``outputs``: evaluating the output section
    (relative paths are under work/, and what they name must be the task's to return)."""

    cdir: str
    outputs: bool
    trusted: set[str]
    source_dir: str
    wdl12: bool

    @property
    def work(self) -> str:
        return os.path.join(self.cdir, "work")

    @property
    def write_dir(self) -> str:
        return os.path.join(self.cdir, "write_")

    def devirtualize(self, filename: str) -> str:
        """The host path read_*/size() open for `filename`, if the call may read it."""
        directory = filename.endswith("/")
        path = filename.rstrip("/") if directory else filename
        if not os.path.isabs(path):
            if self.outputs:
                path = os.path.normpath(os.path.join(self.work, path))
            elif self.wdl12 and self.source_dir:
                path = os.path.normpath(os.path.join(self.source_dir, path))
            else:
                raise WdlInputError(f"relative path {filename!r} used before the command ran")
        if self.outputs:
            relative = not os.path.isabs(filename)
            check_output_path(path, self.cdir, self.trusted, filename, relative=relative)
        elif not self._readable_input(path):
            raise WdlInputError(f"task inputs attempted to use a non-input path {filename}")
        if not (os.path.isdir(path) if directory else os.path.isfile(path)):
            raise (WdlOutputError if self.outputs else WdlInputError)(
                f"function was passed non-existent file {filename}"
            )
        return path

    def _readable_input(self, path: str) -> bool:
        """Before the command ran: the call's directory, its inputs, and (WDL 1.2) its source's."""
        return bool(
            os.path.abspath(path).startswith(self.cdir + os.sep)
            or os.path.abspath(path) in self.trusted
            or (
                self.wdl12 and self.source_dir and adapter.path_really_within(path, self.source_dir)
            )
        )

    def virtualize(self, filename: str) -> str:
        """Rename a written temp file to a name derived from its content: deterministic,
        idempotent."""
        import hashlib

        with open(filename, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:32]
        final = os.path.join(self.write_dir, digest)
        if os.path.isfile(final):
            os.unlink(filename)
        else:
            os.replace(filename, final)
        return final

    def resolve_relative(self, filename: str) -> str:
        if self.outputs or os.path.isabs(filename) or "://" in filename:
            return filename
        if self.wdl12 and self.source_dir:
            return os.path.normpath(os.path.join(self.source_dir, filename))
        return filename

    def output_functions(
        self,
    ) -> dict[str, tuple[list[WDL.Type.Base], WDL.Type.Base, Callable[..., Any]]]:
        """stdout(), stderr() and glob() as the output section sees them."""
        stdout, stderr = (os.path.join(self.cdir, n) for n in (RunStore.STDOUT, RunStore.STDERR))
        return {
            "stdout": ([], WDL.Type.File(), lambda: WDL.Value.File(stdout)),
            "stderr": ([], WDL.Type.File(), lambda: WDL.Value.File(stderr)),
            "glob": ([WDL.Type.String()], WDL.Type.Array(WDL.Type.File()), self.glob),
        }

    def glob(self, pattern: WDL.Value.Base) -> WDL.Value.Base:
        pat = str(pattern.coerce(WDL.Type.String()).value)
        if not pat:
            raise WdlOutputError("empty glob() pattern")
        if pat.startswith("/"):
            raise WdlOutputError("glob() pattern must be relative to task working directory")
        if pat.startswith("..") or "/.." in pat:
            raise WdlOutputError("glob() pattern must not use .. uplevels")
        if pat.startswith("./"):
            pat = pat[2:]
        found = sorted(p for p in globlib.glob(os.path.join(self.work, pat)) if os.path.isfile(p))
        for p in found:
            check_output_path(p, self.cdir, self.trusted, p, relative=True)
        return WDL.Value.Array(WDL.Type.File(), [WDL.Value.File(p) for p in found])


def check_output_path(
    path: str, call_dir: str, trusted: set[str], shown: str, *, relative: bool = False
) -> None:
    """Containment, as miniwdl's: an output path must resolve (after symlinks) inside the task's
    working directory ``work/``, or be one of the call's own (localized) inputs. An absolute
    path may also be what stdout()/stderr() return, a file the output section wrote (write_*)
    or a file inside an input Directory. A relative path naming the rest of the call folder
    (``../stdout.txt``, ``../command``) or beyond is not the task's to return."""
    ap = os.path.abspath(path)
    if ap in trusted or os.path.realpath(ap) in trusted:
        return
    if adapter.path_really_within(ap, os.path.join(call_dir, "work")):
        return
    if relative:
        raise WdlOutputError(
            f"task output path resolves outside the task's work directory: {shown}"
        )
    if adapter.path_really_within(ap, os.path.join(call_dir, "write_")):
        return
    if os.path.realpath(ap) in _std_files(call_dir):
        return
    if any(os.path.isdir(t) and adapter.path_really_within(ap, t) for t in trusted):
        return
    raise WdlOutputError(f"task output path resolves outside the task's work directory: {shown}")


def _std_files(call_dir: str) -> set[str]:
    real = os.path.realpath(call_dir)
    return {os.path.join(real, RunStore.STDOUT), os.path.join(real, RunStore.STDERR)}
