"""The files step: what a run folder holds, and copies of it, for `wdl2sfn files RUN`.

On AWS the run folders are on EFS or FSx, which only the stack's jobs mount; the CLI submits this
step as a runner job and reads its answer from the run bucket, so nobody needs a bastion host.
Locally the CLI calls the same functions on the store. A path never leads out of its run folder
(``..`` or a symlink to another run is refused): the runner job mounts the whole store.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import wdl
from .errors import WdlError
from .init import check_run_name
from .store import RunStore

MAX_ENTRIES = 10_000  # one answer stays a small S3 object / screenful of JSON lines
MAX_GET_FILES = 5_000


class FilesError(ValueError):
    """A path the user asked for that is not there, or not theirs to read."""


def target_path(store: RunStore, run: str, path: str) -> tuple[Path, Path]:
    """(run folder, the path inside it), both checked to exist and the second to stay inside."""
    try:
        run_dir = store.run_dir(check_run_name(run))
    except WdlError as exn:
        raise FilesError(str(exn)) from None
    if not (run_dir / RunStore.RECORD).is_file():
        raise FilesError(f"{run}: no such run folder under {store.root}")
    target = (run_dir / path.lstrip("/")) if path else run_dir
    if not wdl.path_really_within(str(target), str(run_dir)):
        raise FilesError(f"{path}: outside run {run}'s folder")
    if not target.exists():
        raise FilesError(f"{path}: no such file or folder in run {run}")
    return run_dir, target


def listing(run_dir: Path, target: Path, recursive: bool) -> dict[str, Any]:
    """Entries as ``{"path", "type", "size", "modified"}``, paths relative to the run folder."""
    paths = [target] if target.is_file() else _children(target, recursive)
    entries = [_entry(run_dir, p) for p in paths[:MAX_ENTRIES]]
    return {"entries": entries, "truncated": len(paths) > MAX_ENTRIES}


def _children(folder: Path, recursive: bool) -> list[Path]:
    if not recursive:
        return sorted(folder.iterdir())
    found: list[Path] = []
    for parent, dirs, files in os.walk(folder):
        dirs.sort()
        found.extend(Path(parent) / name for name in [*dirs, *sorted(files)])
        if len(found) > MAX_ENTRIES:
            break
    return found


def _entry(run_dir: Path, path: Path) -> dict[str, Any]:
    stat = path.lstat()
    kind = "link" if path.is_symlink() else "folder" if path.is_dir() else "file"
    modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC).isoformat(timespec="seconds")
    return {
        "path": str(path.relative_to(run_dir)),
        "type": kind,
        "size": stat.st_size if kind == "file" else None,
        "modified": modified,
    }


def files_to_get(run_dir: Path, target: Path) -> list[Path]:
    """Every regular file under ``target`` (or ``target`` itself) that resolves inside the run
    folder, through the links of ``out/`` too (a Directory output is a link to a folder); a
    link whose file is gone is an error naming it; more than MAX_GET_FILES is refused (fetch a
    subfolder instead)."""
    if target.is_file():
        return [target]
    found: list[Path] = []
    gone: list[str] = []
    for path in _walk_links(run_dir, target):
        if not path.exists():
            gone.append(f"{path.relative_to(run_dir)} (-> {os.readlink(path)})")
            continue
        found.append(path)
        if len(found) > MAX_GET_FILES:
            raise FilesError(
                f"{target.relative_to(run_dir)}: more than {MAX_GET_FILES} files "
                "to fetch at once; name a subfolder"
            )
    if gone:
        raise FilesError("links to files that are gone: " + ", ".join(gone))
    return sorted(found)


def _walk_links(run_dir: Path, target: Path) -> Iterator[Path]:
    """Files (and dangling links) under ``target``, following links to folders that stay inside
    the run folder, each real folder once (a link loop ends)."""
    inside = str(run_dir.resolve())
    seen: set[str] = set()
    for parent, dirs, files in os.walk(target, followlinks=True):
        real = os.path.realpath(parent)
        if real in seen or not wdl.path_really_within(real, inside):
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in sorted(files):
            path = Path(parent) / name
            if path.is_symlink() and not path.exists():
                yield path
            elif path.is_file() and wdl.path_really_within(str(path), inside):
                yield path


def copy_files(run_dir: Path, target: Path, dest: Path) -> list[str]:
    """Local ``--get``: the files, at their run-folder-relative paths under ``dest``."""
    copied = []
    for path in files_to_get(run_dir, target):
        out = dest / path.relative_to(run_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out)
        copied.append(str(out))
    return copied


def files_step(settings: Any, event: dict[str, Any]) -> dict[str, Any]:
    """The runner job's answer: the listing, and with ``get_prefix`` the files uploaded under
    it. A wrong run or path is an answer (``error``), not a failed job, so the CLI can say it."""
    try:
        run_dir, target = target_path(settings.store, str(event["run"]), str(event.get("path", "")))
        answer = listing(run_dir, target, bool(event.get("recursive")))
        prefix = event.get("get_prefix")
        if prefix:
            answer["uploaded"] = _upload(settings, run_dir, target, str(prefix))
    except (FilesError, ValueError) as exn:
        return {"error": str(exn)}
    return answer


def _upload(settings: Any, run_dir: Path, target: Path, prefix: str) -> list[str]:
    keys = []
    for path in files_to_get(run_dir, target):
        key = f"{prefix.rstrip('/')}/{path.relative_to(run_dir)}"
        settings.s3.upload_file(str(path), settings.run_bucket, key)
        keys.append(key)
    return keys
