"""Localize a call's File/Directory inputs into ``<call_dir>/inputs/<n>/<basename>``.

Sources: local paths (must exist), ``s3://bucket/key`` (boto3), ``http(s)://`` (urllib, with
retries). Remote objects are first downloaded into a content-keyed cache shared by all runs of the
store, ``<store_root>/_DOWNLOADS/<kind>/<sha256 of uri + version>/<basename>`` where the version is
the object's ETag (S3; HTTP ETag/Last-Modified/Content-Length when the server gives them), so a
changed object is fetched again and an unchanged one never twice. Each input is then hard-linked
into the call directory (falling back to a symbolic link when the source is on another file
system), or copied when ``copy_input_files`` is set. Directories are rebuilt as real folders of
hard links (or copies), never one symlink: ``find DIR -type f`` does not follow a symlink named as
its starting point, so a symlinked Directory looked empty to it.
Input files from the store (upstream outputs, downloads) and copies are made read-only. A File
of the user's (outside the store) is never linked itself: the run's read-only copy of it is
(``private_copy``), so a task appending to its input cannot change the user's file.

Every step is idempotent: the same inputs give the same ``inputs/<n>`` layout, and a link that is
already in place is left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import WDL

from . import private_copy, symlinks
from .atomic import link_atomic
from .cache_copy import link_or_copy
from .download_lock import download_lock
from .errors import WdlInputError
from .store import RunStore
from .value_files import file_values

__all__ = [
    "localize_inputs",
    "download",
    "is_uri",
    "local_paths",
    "uri_and_local_paths",
    "check_fetchable",
]

HTTP_ATTEMPTS = 4
HTTP_TIMEOUT_S = 60
_CHUNK = 1 << 20


def is_uri(value: str) -> bool:
    return value.startswith(("s3://", "http://", "https://"))


def local_paths(env: WDL.Env.Bindings[WDL.Value.Base]) -> list[tuple[str, bool]]:
    """``(path, is_directory)`` of every local File/Directory value in ``env`` (URIs skipped)."""
    return [(path, directory) for path, directory in uri_and_local_paths(env) if not is_uri(path)]


def uri_and_local_paths(env: WDL.Env.Bindings[WDL.Value.Base]) -> list[tuple[str, bool]]:
    """``(path or URI, is_directory)`` of every File/Directory value in ``env``."""
    return [
        (v.value, isinstance(v, WDL.Value.Directory)) for b in env for v in file_values(b.value)
    ]


def check_fetchable(uri: str, *, directory: bool = False, s3_client: Any = None) -> None:
    """Raise WdlInputError unless ``uri`` can be downloaded (S3: the object, or for a Directory
    at least one object under the prefix; HTTP(S): a HEAD, or a one-byte GET where HEAD is
    refused), without downloading it."""
    if uri.startswith("s3://"):
        _check_s3(uri, directory, s3_client)
        return
    if directory:
        raise WdlInputError(f"Directory inputs from HTTP(S) are not supported: {uri}", uri=uri)
    try:
        try:
            _http_open(urllib.request.Request(uri, method="HEAD")).close()
        except urllib.error.HTTPError as exn:
            if exn.code not in (403, 405, 501):
                raise
            ranged = urllib.request.Request(uri, headers={"Range": "bytes=0-0"})
            _http_open(ranged).close()
    except (urllib.error.URLError, OSError) as exn:
        raise WdlInputError(f"cannot download {uri}: {exn}", uri=uri) from exn


def _s3_target(uri: str, directory: bool) -> tuple[str, str]:
    """(bucket, key) of an S3 File or Directory input; a URI naming neither is an input error."""
    bucket, key = _split_s3(uri.rstrip("/") if directory else uri)
    if not bucket or (not key and not directory):
        raise WdlInputError(f"invalid S3 URI: {uri}", uri=uri)
    return bucket, key


def _check_s3(uri: str, directory: bool, s3_client: Any) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    client = _s3(s3_client)
    bucket, key = _s3_target(uri, directory)
    try:
        if not directory:
            client.head_object(Bucket=bucket, Key=key)
            return
        listed = client.list_objects_v2(Bucket=bucket, Prefix=key + "/" if key else "", MaxKeys=1)
    except (ClientError, BotoCoreError) as exn:
        raise WdlInputError(f"cannot download {uri}: {exn}", uri=uri) from exn
    if not listed.get("Contents"):
        raise WdlInputError(f"input Directory not found (no S3 objects): {uri}", uri=uri)


def localize_inputs(
    inputs: WDL.Env.Bindings[WDL.Value.Base],
    call_dir: Path,
    store_root: Path,
    *,
    copy: bool = False,
    s3_client: Any = None,
    contained: bool = False,
    keep_mode: frozenset[tuple[int, int]] = frozenset(),
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """Return ``inputs`` with every File/Directory value rewritten to its localized path.
    ``keep_mode``: (device, inode) of the user's own files, never made read-only.
    ``contained``: the task sees only its run folder (AWS; local docker/podman runs), so no
    input may be a symlink out of it: directories are placed as trees of hard links, and files
    as hard links (copies across file systems)."""
    if not uri_and_local_paths(inputs):
        return inputs  # nothing to localize (and nothing to copy)
    inputs_dir = Path(call_dir) / "inputs"
    index: dict[tuple[str, bool], str] = {}

    def rewrite(v: WDL.Value.File | WDL.Value.Directory) -> str:
        directory = isinstance(v, WDL.Value.Directory)
        src = v.value.rstrip("/") if directory else v.value
        key = (src, directory)
        if key not in index:
            n = len(index)
            index[key] = _localize_one(
                src,
                directory,
                inputs_dir / str(n),
                Path(store_root),
                copy,
                s3_client,
                contained,
                keep_mode,
            )
        return index[key]

    return WDL.Value.rewrite_env_paths(inputs, rewrite)


def _localize_one(
    src: str,
    directory: bool,
    dest_dir: Path,
    store_root: Path,
    copy: bool,
    s3_client: Any,
    contained: bool = False,
    keep_mode: frozenset[tuple[int, int]] = frozenset(),
) -> str:
    kind = "Directory" if directory else "File"
    if is_uri(src):
        local = download(src, store_root, directory=directory, s3_client=s3_client)
    else:
        local = os.path.abspath(src)
        if not (os.path.isdir(local) if directory else os.path.isfile(local)):
            raise WdlInputError(f"input {kind} not found: {src}", path=src)
        if not (directory or copy) and _users_file(local, store_root, keep_mode):
            local = private_copy.run_copy(
                local, dest_dir.parent.parent
            )  # never a link to the user's inode
    name = os.path.basename(src.rstrip("/")) or "input"
    dest = dest_dir / name
    if directory:
        _link_tree(local, dest, copy=copy, strict=contained or copy)
    else:
        _place(local, dest, directory, copy, contained)
    if directory or _inode(dest) in keep_mode:
        return str(dest)  # the user's own file, whatever its name (ln input out.txt): no chmod
    if _store_owned(local, store_root) or not _same_file(local, dest):
        _read_only(dest)  # an upstream output, a download or a copy (never the user's inode)
    return str(dest)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _same_file(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _users_file(local: str, store_root: Path, keep_mode: frozenset[tuple[int, int]]) -> bool:
    """A file of the user's (given to the run, or anywhere outside the store), which a task
    must not get as a hard link: it could append to it."""
    return _inode(Path(local)) in keep_mode or not _store_owned(local, store_root)


def _store_owned(path: str, root: Path) -> bool:
    """Is ``path`` a file the store made (a call's output, a download), not a user's file
    passed through a call (``calls/.../inputs/...`` links the user's own inode)?"""
    real, top = os.path.realpath(path), os.path.realpath(root)
    if not real.startswith(top + os.sep):
        return False
    parts = os.path.relpath(real, top).split(os.sep)
    return not (RunStore.CALLS in parts and "inputs" in parts[parts.index(RunStore.CALLS) :])


def _read_only(path: Path) -> None:
    """Take away write permission (where the file system allows), so a task appending to its
    input fails instead of changing an upstream call's output (a hard link shares its inode)
    or a download. A copy (``copy_input_files``) is made read-only too. The user's own files
    outside the store keep their mode: ``--copy-input-files`` protects them."""
    with contextlib.suppress(OSError):
        mode = os.stat(path).st_mode
        if mode & 0o222:
            os.chmod(path, mode & ~0o222)


def _link_tree(local: str, dest: Path, copy: bool = False, strict: bool = True) -> None:
    """A directory input as a tree of hard links (``copy``: copies), idempotent: a real folder,
    so ``find DIR -type f`` sees its files, and visible to a task that sees only its run. Never
    follows a symlink: one that stays inside the tree is made again as a relative link to the
    same place in the new tree. ``strict`` (a contained task, a copy): one that leads out of it
    (or dangles, or loops) refuses the input, as collect refuses such a Directory output, so no
    link hands a task the cache key, another run or the host's files. On the host a task sees
    the host anyway (the Directory used to be one symlink to it), so such a link keeps pointing
    where it pointed (a user's reference folder of absolute links still works). Built aside,
    then renamed into place: a failure leaves no half-made tree."""
    if dest.is_dir() and not dest.is_symlink():
        return
    if dest.is_symlink():
        dest.unlink()  # placed by an earlier version as one symlink: rebuilt as a tree
    bad = symlinks.bad_links(local)
    if bad and strict:
        raise WdlInputError(
            f"input Directory {local} holds a symlink it may not: {symlinks.describe(bad)}",
            path=local,
        )
    outward = {os.path.join(local, b.link) for b in bad}
    tmp = dest.with_name(f".tmp-{dest.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        _copy_tree(local, tmp, shutil.copy2 if copy else link_or_copy, outward)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _copy_tree(src: str, dst: Path, place: Callable[[str, str], object], outward: set[str]) -> None:
    """``src`` rebuilt at ``dst`` with ``place(file, copy)`` per file, links kept as links
    (inside ones re-aimed at the same place in the copy; the ``outward`` ones, allowed on the
    host only, at their absolute target), nothing followed."""
    for dirpath, dirs, files in os.walk(src, followlinks=False):
        out = os.path.normpath(os.path.join(dst, os.path.relpath(dirpath, src)))
        os.makedirs(out, exist_ok=True)
        for name in sorted(dirs + files):
            path, made = os.path.join(dirpath, name), os.path.join(out, name)
            if path in outward:
                os.symlink(os.path.join(dirpath, os.readlink(path)), made)
            elif os.path.islink(path):
                os.symlink(symlinks.inside_target(path, src, made, str(dst)), made)
            elif name in files:
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    raise WdlInputError(f"input Directory {src} holds a special file: {path}")
                place(path, made)


def _place(local: str, dest: Path, directory: bool, copy: bool, contained: bool = False) -> None:
    """Make ``dest`` refer to ``local`` (idempotent). ``contained``: never a symlink, which
    would point out of the run folder the task sees: a file that cannot be hard-linked (another
    file system, EPERM) is copied instead."""
    if _already_placed(local, dest, directory, copy, contained):
        return
    if copy:
        link_atomic(local, dest, "copy")
        return
    if not directory:
        try:
            link_atomic(local, dest, "hard")
            return
        except OSError:
            pass  # e.g. EXDEV (another file system) or EPERM: fall back to a symlink or a copy
    link_atomic(local, dest, "copy" if contained else "sym")


def _already_placed(
    local: str, dest: Path, directory: bool, copy: bool, contained: bool = False
) -> bool:
    try:
        if os.path.islink(dest):
            return not copy and not contained and os.readlink(dest) == local
        if directory:
            return copy and dest.is_dir()
        st_dest, st_src = os.stat(dest), os.stat(local)
    except OSError:
        return False
    if copy:
        return st_dest.st_size == st_src.st_size and st_dest.st_mtime_ns >= st_src.st_mtime_ns
    return (st_dest.st_dev, st_dest.st_ino) == (st_src.st_dev, st_src.st_ino)


# ---------------------------------------------------------------- downloads


def download(uri: str, store_root: Path, *, directory: bool = False, s3_client: Any = None) -> str:
    """Local path of ``uri`` in the download cache, fetching it when absent or changed."""
    if uri.startswith("s3://"):
        return _download_s3(uri, Path(store_root), directory, s3_client)
    if directory:
        raise WdlInputError(f"Directory inputs from HTTP(S) are not supported: {uri}", uri=uri)
    return _download_http(uri, Path(store_root))


def _cache_path(store_root: Path, scheme: str, uri: str, version: str, name: str) -> Path:
    digest = hashlib.sha256(json.dumps([uri, version]).encode("utf-8")).hexdigest()
    return (
        RunStore(store_root).downloads_dir() / scheme / digest[:2] / digest / (name or "download")
    )


def _fetch_to(dest: Path, fetch: Callable[[str], None]) -> None:
    """Run ``fetch(tmp_path)`` then rename the result to ``dest`` (never a partial file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    try:
        fetch(tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _split_s3(uri: str) -> tuple[str, str]:
    parts = urllib.parse.urlparse(uri)
    return parts.netloc, parts.path.lstrip("/")


def _s3(s3_client: Any) -> Any:
    if s3_client is not None:
        return s3_client
    import boto3

    return boto3.client("s3")


def _download_s3(uri: str, store_root: Path, directory: bool, s3_client: Any) -> str:
    from botocore.exceptions import ClientError

    client = _s3(s3_client)
    bucket, key = _s3_target(uri, directory)
    try:
        if not directory:
            head = client.head_object(Bucket=bucket, Key=key)
            dest = _cache_path(
                store_root, "s3", uri, str(head.get("ETag", "")), os.path.basename(key)
            )
            with download_lock(dest, dest.is_file) as mine:
                if mine:
                    _fetch_to(dest, lambda tmp: client.download_file(bucket, key, tmp))
            return str(dest)
        prefix = key + "/" if key else ""
        objects: list[tuple[str, str]] = []
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith("/"):
                    objects.append((obj["Key"], str(obj.get("ETag", ""))))
        if not objects:
            raise WdlInputError(f"input Directory not found (no S3 objects): {uri}", uri=uri)
        objects.sort()
        dest = _cache_path(
            store_root, "s3dir", uri, json.dumps(objects), os.path.basename(key) or bucket
        )
        with download_lock(dest, dest.is_dir) as mine:
            if mine:
                _fetch_dir(client, bucket, prefix, objects, dest, uri)
        return str(dest)
    except ClientError as exn:
        raise WdlInputError(f"cannot download {uri}: {exn}", uri=uri) from exn


def _fetch_dir(
    client: Any, bucket: str, prefix: str, objects: list[tuple[str, str]], dest: Path, uri: str
) -> None:
    """The S3 objects under ``prefix`` as the folder ``dest`` (staged, then renamed whole)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".dir.", suffix=".tmp"))
    try:
        for obj_key, _etag in objects:
            rel = obj_key[len(prefix) :]
            target = staging / rel
            if ".." in Path(rel).parts:
                raise WdlInputError(f"unsafe S3 key under {uri}: {obj_key}", uri=uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, obj_key, str(target))
        try:
            os.rename(staging, dest)
        except OSError:
            if not dest.is_dir():  # lost a race to a concurrent download: fine
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _http_open(req: urllib.request.Request) -> Any:
    last: Exception | None = None
    for attempt in range(HTTP_ATTEMPTS):
        try:
            return urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S)
        except urllib.error.HTTPError as exn:
            if exn.code < 500 and exn.code != 429:
                raise
            last = exn
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exn:
            last = exn
        if attempt + 1 < HTTP_ATTEMPTS:
            time.sleep(min(8.0, 0.5 * 2**attempt))
    assert last is not None
    raise last


def _download_http(uri: str, store_root: Path) -> str:
    name = os.path.basename(urllib.parse.urlparse(uri).path)
    try:
        version = ""
        try:
            with _http_open(urllib.request.Request(uri, method="HEAD")) as resp:
                h = resp.headers
                version = json.dumps(
                    [h.get("ETag"), h.get("Last-Modified"), h.get("Content-Length")]
                )
        except urllib.error.HTTPError as exn:
            if exn.code not in (403, 405, 501):  # some servers refuse HEAD: key on the URI only
                raise
        dest = _cache_path(store_root, "http", uri, version, name)

        def fetch(tmp: str) -> None:
            with _http_open(urllib.request.Request(uri)) as resp, open(tmp, "wb") as out:
                shutil.copyfileobj(resp, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())

        with download_lock(dest, dest.is_file) as mine:
            if mine:
                _fetch_to(dest, fetch)
        return str(dest)
    except (urllib.error.URLError, OSError) as exn:
        raise WdlInputError(f"cannot download {uri}: {exn}", uri=uri) from exn
