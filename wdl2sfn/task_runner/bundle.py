"""Workflow sources in the store, ``<root>/_workflows/<digest>/``, trusted only as far as verified.

The compiled state machine names its workflow by the content digest of its sources (the compiler's
``bundle_of``: SHA-256 over each file's relative path and text, then the main file's path). Every
run's init copies the bundle into the run folder and parses it, so a bundle edited or truncated on
the shared file system would silently run other WDL than was compiled. The digest is therefore
recomputed whenever a bundle is read: a mismatch re-creates it (from the compiled sources locally,
from the run bucket on AWS) or fails with what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..contract import BUNDLE_MARKER
from .atomic import write_json_atomic, write_text_atomic
from .errors import WdlInputError
from .store import RunStore

MANIFEST = BUNDLE_MARKER


def sources_digest(files: dict[str, str], main: str) -> str:
    """The compiler's digest of a bundle (wdl2sfn.compiler.bundle.bundle_of), recomputed here so
    the run-time steps need not import the compiler."""
    h = hashlib.sha256()
    for rel, text in sorted(files.items()):
        h.update(rel.encode() + b"\0" + text.encode() + b"\0")
    h.update(main.encode())
    return h.hexdigest()[:32]


def verified(root: Path, digest: str) -> bool:
    """Does the bundle folder hold exactly the sources ``digest`` names?"""
    try:
        meta = json.loads((root / MANIFEST).read_text())
        files = {}
        for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
            rel = path.relative_to(root).as_posix()
            if rel != MANIFEST:
                files[rel] = path.read_bytes().decode("utf-8")
        return bool(meta.get("digest") == digest and sources_digest(files, meta["main"]) == digest)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_bundle(store: RunStore, digest: str, main: str, name: str, files: dict[str, str]) -> None:
    """Put a compiled workflow's sources where init finds them (what deploy uploads to S3); a
    bundle already there is kept if it verifies, else replaced whole."""
    root = store.workflows_dir(digest)
    if verified(root, digest):
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{digest}.", suffix=".tmp"))
    try:
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, text)
        write_json_atomic(staging / MANIFEST, {"main": main, "name": name, "digest": digest})
        if not verified(root, digest):  # a concurrent run may have landed a good one meanwhile
            _swap_in(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, root: Path) -> None:
    """Replace ``root`` by ``staging`` (two renames; a concurrent writer of the same digest
    writes the same content, so whichever lands is right)."""
    if root.exists():
        trash = Path(tempfile.mkdtemp(dir=root.parent, prefix=".stale.", suffix=".tmp"))
        with contextlib.suppress(OSError):
            os.replace(root, trash / "bundle")
        shutil.rmtree(trash, ignore_errors=True)
    with contextlib.suppress(OSError):  # lost the race to a concurrent writer: theirs is equal
        os.replace(staging, root)


def fetch_bundle(settings: Any, digest: str) -> Path:
    """The verified workflow sources: in the store, else (or if they do not match their digest)
    from ``s3://<RunBucket>/_workflows/<digest>/``."""
    store: RunStore = settings.store
    local = store.workflows_dir(digest)
    if _verified_soon(local, digest):
        return local
    if not settings.run_bucket:
        if (local / MANIFEST).exists():
            raise WdlInputError(
                f"workflow sources in {local} do not match their digest {digest} (edited or "
                f"corrupted): run the workflow again with `wdl2sfn run` to re-create them"
            )
        raise WdlInputError(f"workflow sources {digest} not found in {local}")
    shutil.rmtree(local, ignore_errors=True)
    _download(settings, digest, local)
    if not verified(local, digest):
        raise WdlInputError(
            f"workflow sources s3://{settings.run_bucket}/_workflows/{digest}/ are missing or do "
            f"not match their digest: deploy the workflow again (`wdl2sfn deploy`)"
        )
    return local


def _verified_soon(root: Path, digest: str, wait: float = 2.0) -> bool:
    """Verified now, or within ``wait`` seconds: a concurrent run re-creating the same bundle
    moves the old folder aside and the new one in (two renames), and a reader between the two
    must not mistake that for a missing bundle."""
    deadline = time.monotonic() + wait
    while not verified(root, digest):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _download(settings: Any, digest: str, local: Path) -> None:
    s3 = settings.s3
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    prefix = f"_workflows/{digest}/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.run_bucket, Prefix=prefix)
    for page in pages:
        for obj in page.get("Contents", []):
            rel = obj["Key"][len(prefix) :]
            if not rel or ".." in Path(rel).parts:
                continue
            dest = local / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(settings.run_bucket, obj["Key"], str(dest))
