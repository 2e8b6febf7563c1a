"""Object stores behind Distributed Map's ItemReader (s3:getObject) and ResultWriter (s3:putObject).

On AWS these are S3 buckets; locally a bucket is a folder. ``FolderObjectStore(root,
buckets={"wdl2sfn-local": Path(...)})`` serves the named buckets from the given folders and any
other bucket from ``root/<bucket>/``; a bucket may instead map to a function from key to file
(the local run bucket keeps a run's scratch keys inside its run folder). Writes are atomic (temp file, fsync, rename), as DESIGN
invariant 6 asks of every store write.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

KeyPath = Callable[[str], Path]  # a bucket's key -> the file holding it


class ObjectStore(Protocol):
    """What ItemReader and ResultWriter use: S3's GetObject and PutObject, by bucket and key."""

    def get_object(self, bucket: str, key: str) -> bytes: ...

    def put_object(self, bucket: str, key: str, body: bytes) -> None: ...


class FolderObjectStore:
    """Buckets as folders: named buckets map to given folders, others to ``root/<bucket>``."""

    def __init__(
        self, root: Path | str, buckets: Mapping[str, Path | str | KeyPath] | None = None
    ) -> None:
        self.root = Path(root)
        self.buckets = {
            name: where if callable(where) else Path(where)
            for name, where in (buckets or {}).items()
        }

    def path(self, bucket: str, key: str) -> Path:
        """The file holding ``bucket/key``; keys may not climb out of their bucket."""
        parts = [p for p in key.split("/") if p]
        if not parts or any(p == ".." for p in parts):
            raise KeyError(f"invalid object key {key!r}")
        base = self.buckets.get(bucket, self.root / bucket)
        if callable(base):
            return base("/".join(parts))
        return base.joinpath(*parts)

    def get_object(self, bucket: str, key: str) -> bytes:
        """Read an object; FileNotFoundError (a KeyError-like miss) when it does not exist."""
        return self.path(bucket, key).read_bytes()

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        """Write an object atomically."""
        target = self.path(bucket, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
