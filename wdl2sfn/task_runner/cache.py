"""The call cache: ``<root>/_CACHE/call/<task name>/<task digest>/<inputs digest>.json``.

Keys are miniwdl's (``WDL.runtime.cache.call_cache_key``: the task's name, its content digest and a
digest of the call inputs as given, before localization), so an edit to the task or any change of
an input value misses. An entry stores the outputs (``values_to_json`` form) and the size and
mtime (ns) of every local File/Directory the inputs and outputs reference (each file inside a
Directory too). A lookup is a hit only when every one of those is unchanged, so touching or
rewriting an input file, or deleting an output, invalidates the entry (which is then removed).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import WDL

from ..wdl import call_cache_key
from .atomic import write_json_atomic
from .localize import local_paths

__all__ = ["cache_key", "entry_path", "file_stats", "lookup", "store", "FORMAT"]

FORMAT = "wdl2sfn-call-cache/1"


def cache_key(task: WDL.Tree.Task, inputs: WDL.Env.Bindings[WDL.Value.Base]) -> str:
    """miniwdl's key for this task and these (unlocalized) call inputs."""
    return call_cache_key(task, inputs)


def entry_path(cache_root: Path, key: str) -> Path:
    return Path(cache_root) / f"{key}.json"


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def file_stats(paths: list[tuple[str, bool]]) -> dict[str, list[int] | None]:
    """``{path: [size, mtime_ns]}`` for files, and for every file and directory under a
    Directory; ``None`` for a path that does not exist."""
    ans: dict[str, list[int] | None] = {}
    for path, directory in paths:
        ans[path] = _stat(path)
        if directory and os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                for name in dirs + files:
                    p = os.path.join(root, name)
                    ans[p] = _stat(p)
    return ans


def lookup(
    cache_root: Path, key: str, output_types: WDL.Env.Bindings[WDL.Type.Base]
) -> dict[str, Any] | None:
    """The cache entry for ``key`` when it is valid (outputs readable with ``output_types``, every
    recorded file unchanged), else None; an invalid entry is deleted."""
    path = entry_path(cache_root, key)
    try:
        entry = json.loads(path.read_text())
        if entry.get("format") != FORMAT:
            return None
        WDL.values_from_json(entry["outputs"], output_types)
    except FileNotFoundError:
        return None
    except Exception:  # unreadable or stale (task outputs changed): a miss
        _discard(path)
        return None
    for p, recorded in entry.get("files", {}).items():
        if recorded is not None and _stat(p) != recorded:
            _discard(path)
            return None
    return dict(entry)


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def store(
    cache_root: Path,
    key: str,
    *,
    task: WDL.Tree.Task,
    outputs: WDL.Env.Bindings[WDL.Value.Base],
    input_files: dict[str, list[int] | None],
    call_dir: Path,
) -> Path:
    """Write the entry for ``key`` (atomically). ``input_files`` are the input file stats taken
    when the call was prepared (so a file changed during the job does not validate the entry)."""
    files = dict(input_files)
    files.update(file_stats(local_paths(outputs)))
    entry = {
        "format": FORMAT,
        "key": key,
        "task": task.name,
        "digest": task.digest,
        "dir": str(call_dir),
        "outputs": WDL.values_to_json(outputs),
        "files": files,
    }
    path = entry_path(cache_root, key)
    write_json_atomic(path, entry)
    return path
