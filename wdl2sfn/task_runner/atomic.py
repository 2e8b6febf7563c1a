"""Atomic file writes for the run store (DESIGN invariant 6, "Nothing lost").

Every write goes to a hidden temporary file in the destination's own directory, is flushed and
fsync'd, then renamed over the destination (``os.replace``, atomic on POSIX, EFS and FSx for
Lustre). A reader therefore sees either the previous content or the complete new content, never a
partial file; a writer killed mid-way leaves at most a hidden ``.<name>.*.tmp`` file behind, which
no reader looks at.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "write_bytes_atomic",
    "write_text_atomic",
    "write_json_atomic",
    "link_atomic",
    "is_temp_name",
]

_TMP_SUFFIX = ".tmp"


def is_temp_name(name: str) -> bool:
    """True for the names of the temporary files this module creates (never a real store file)."""
    return name.startswith(".") and name.endswith(_TMP_SUFFIX)


def write_bytes_atomic(
    path: str | os.PathLike[str], data: bytes, mode: int = 0o644, *, durable: bool = True
) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same directory, fsync, rename.

    Readers see the old file or the whole new one, never a part. ``durable=False`` is for files
    that only later steps read, and only after the writing step succeeded (command, task_env.json,
    job.json, diagnostics): they are written in place, without temp file or fsync, since a step
    that dies half-way is re-run (steps are idempotent) before anyone reads them. The directory
    is not fsync'd: on EFS close-to-open consistency already publishes the rename to other
    clients, and a rename lost to an OS crash only makes the step run again.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not durable:
        _write_in_place(dest, data, mode)
        return
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=_TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_in_place(dest: Path, data: bytes, mode: int) -> None:
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_text_atomic(
    path: str | os.PathLike[str], text: str, mode: int = 0o644, *, durable: bool = True
) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"), mode=mode, durable=durable)


def write_json_atomic(
    path: str | os.PathLike[str], obj: Any, indent: int | None = None, *, durable: bool = True
) -> None:
    """Serialize ``obj`` as JSON (fully, before touching the file system) and write it atomically.

    Keys keep their insertion order, so equal inputs give byte-identical files (idempotency).
    Compact by default: Python's C encoder only serves ``indent=None``, and these files sit on
    every call's hot path (``jq`` reads them fine).
    """
    text = json.dumps(obj, indent=indent) + "\n"
    write_text_atomic(path, text, durable=durable)


def link_atomic(target: str | os.PathLike[str], dest: str | os.PathLike[str], how: str) -> None:
    """Create ``dest`` as a hard link ("hard"), symbolic link ("sym") or copy ("copy") of
    ``target``, replacing any existing ``dest`` atomically.

    Raises OSError when the requested kind of link cannot be made (e.g. a hard link across file
    systems); the caller chooses the fallback.
    """
    import shutil

    dest_p = Path(dest)
    dest_p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest_p.parent, prefix=f".{dest_p.name}.", suffix=_TMP_SUFFIX)
    os.close(fd)
    os.unlink(tmp)
    try:
        if how == "hard":
            os.link(target, tmp)
        elif how == "sym":
            os.symlink(target, tmp)
        elif how == "copy":
            if os.path.isdir(target):
                shutil.copytree(target, tmp, symlinks=False)
            else:
                shutil.copyfile(target, tmp)
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
        else:
            raise ValueError(f"unknown link kind {how!r}")
        if os.path.isdir(dest_p) and not os.path.islink(dest_p):
            # os.replace cannot replace a real directory: move the old one aside first
            old = f"{tmp}.old"
            os.replace(dest_p, old)
            os.replace(tmp, dest_p)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest_p)
    except BaseException:
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
