"""The call cache: ``<root>/_CACHE/call/<task name>/<task digest>/<inputs digest>.json``.

Keys are miniwdl's (``WDL.runtime.cache.call_cache_key``: the task's name, its content digest and a
digest of the call inputs as given, before localization), so an edit to the task or any change of
an input value misses. An entry stores the outputs (``values_to_json`` form) and the size and
mtime (ns) of every local File/Directory the inputs and outputs reference (each file inside a
Directory too), and the SHA-256 of the content of every output file. A lookup is a hit only when
every one of those is unchanged, so touching or rewriting an input file, or deleting or rewriting
an output, invalidates the entry (which is then removed).

Entries live in the store, where a task running on the host can write too (``../../../../_CACHE``).
So the executor seals each entry: an HMAC-SHA256, keyed with a secret tasks are not given, over the
key, the outputs JSON, the file stats and the content digests. An entry that does not verify (a
task rewrote its outputs, copied it under another key, or wrote one from scratch) is a miss. The
note prepare leaves for collect (``call_cache.json`` in the call folder: the key, the input file
stats) is sealed the same way, so a task cannot make collect file its outputs under another
call's key. The secret is ``WDL2SFN_CACHE_KEY`` if set (AWS: the run-time steps' environment),
else ``<root>/_CACHE/.key`` (mode 0600, made on first use); see docs/security.md for who can read it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import WDL

from ..contract.settings import Settings, load_settings
from ..wdl import call_cache_key
from .atomic import write_json_atomic
from .localize import local_paths
from .store import RunStore

__all__ = [
    "cache_key",
    "entry_path",
    "file_stats",
    "lookup",
    "store",
    "seal",
    "seal_ok",
    "prepare_note",
    "note_ok",
    "FORMAT",
]

FORMAT = "wdl2sfn-call-cache/2"
SECRET_ENV = Settings.variable("cache_key")
_CHUNK = 1 << 20


def _secret(cache_root: Path) -> bytes:
    from_env = load_settings().cache_key
    if from_env:
        return from_env.encode()
    return _secret_file(Path(cache_root).parent / RunStore.CACHE_SECRET)


@functools.lru_cache(maxsize=16)
def _secret_file(path: Path) -> bytes:
    """The store's sealing secret, made once (exclusively: concurrent first runs agree)."""
    with contextlib.suppress(FileNotFoundError):
        data = path.read_bytes()
        if data:
            return data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_hex(32).encode())
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_bytes()


def seal(cache_root: Path, payload: dict[str, Any]) -> str:
    """HMAC-SHA256 of ``payload`` (canonical JSON) with the store's secret."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(_secret(cache_root), text, hashlib.sha256).hexdigest()


def seal_ok(cache_root: Path, payload: dict[str, Any], claimed: Any) -> bool:
    return isinstance(claimed, str) and hmac.compare_digest(seal(cache_root, payload), claimed)


def _sha256(path: str) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def content_digests(paths: list[tuple[str, bool]]) -> dict[str, str | None]:
    """SHA-256 of every file named (and every file inside a named Directory)."""
    ans: dict[str, str | None] = {}
    for path, directory in paths:
        if directory and os.path.isdir(path):
            for root, _dirs, files in os.walk(path):
                for name in files:
                    p = os.path.join(root, name)
                    ans[p] = _sha256(p)
        else:
            ans[path] = _sha256(path)
    return ans


def prepare_note(
    cache_root: Path | None, call_dir: Path, key: str, input_files: dict[str, list[int] | None]
) -> dict[str, Any]:
    """What prepare leaves for collect in ``call_cache.json``, sealed (when caching is on) with
    the call folder it belongs to, so another call's note copied in does not verify."""
    note: dict[str, Any] = {"key": key, "input_files": input_files}
    if cache_root is not None:
        note["seal"] = seal(cache_root, {"note": [str(call_dir), key, input_files]})
    return note


def note_ok(cache_root: Path, call_dir: Path, note: dict[str, Any]) -> bool:
    """Was this note written by prepare for this call (not rewritten by its task)?"""
    payload = {"note": [str(call_dir), note.get("key"), note.get("input_files")]}
    return seal_ok(cache_root, payload, note.get("seal"))


def _sealed_part(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in ("key", "outputs", "files", "contents")}


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
        if entry.get("key") != key or not seal_ok(cache_root, _sealed_part(entry), entry["seal"]):
            raise ValueError("the entry's seal does not verify")
        WDL.values_from_json(entry["outputs"], output_types)
    except FileNotFoundError:
        return None
    except Exception:  # unreadable, stale (task outputs changed) or not sealed by us: a miss
        _discard(path)
        return None
    if not _files_unchanged(entry):
        _discard(path)
        return None
    return dict(entry)


def _files_unchanged(entry: dict[str, Any]) -> bool:
    for p, recorded in entry.get("files", {}).items():
        if recorded is not None and _stat(p) != recorded:
            return False
    return all(_sha256(p) == digest for p, digest in entry.get("contents", {}).items())


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
    entry: dict[str, Any] = {
        "format": FORMAT,
        "key": key,
        "task": task.name,
        "digest": task.digest,
        "dir": str(call_dir),
        "outputs": WDL.values_to_json(outputs),
        "files": files,
        "contents": content_digests(local_paths(outputs)),
    }
    entry["seal"] = seal(cache_root, _sealed_part(entry))
    path = entry_path(cache_root, key)
    write_json_atomic(path, entry)
    return path
