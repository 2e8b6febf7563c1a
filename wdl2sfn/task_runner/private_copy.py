"""A run's own read-only copy of a File the user gave it (issue 24, item 4).

A hard link *is* the user's file: a task running ``echo x >> ~{f}`` would change it, and making
the link read-only would chmod the user's file (and root ignores the mode anyway). So a File from
outside the store is first copied, once per run, to ``<run>/_inputs/<digest>/<name>`` (a
copy-on-write clone where the file system has them: XFS, Btrfs; a full copy elsewhere), made
read-only; every call of the run then hard-links that copy, as it does an upstream output. A
task appending to its input writes the run's copy, never the user's file. The digest covers the
source's path, inode, size and mtime, so a file changed between runs (or during one, before a
later call) gets a fresh copy.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

FOLDER = "_inputs"
_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


def run_copy(local: str, call_dir: Path) -> str:
    """The run's read-only copy of user file ``local`` (made when absent), in the run folder
    that holds ``call_dir`` (the nearest folder above it with a ``run.json``)."""
    run_dir = next((p for p in Path(call_dir).parents if (p / "run.json").is_file()), call_dir)
    st = os.stat(local)
    key = f"{os.path.realpath(local)}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}"
    dest = (
        run_dir / FOLDER / hashlib.sha256(key.encode()).hexdigest()[:32] / os.path.basename(local)
    )
    if dest.is_file():
        return str(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".copy-", suffix=".tmp")
    os.close(fd)
    try:
        _clone_or_copy(local, tmp)
        os.chmod(tmp, 0o444)
        _publish(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return str(dest)


def _publish(tmp: str, dest: Path) -> None:
    """``tmp`` named ``dest``, unless a parallel shard made it first (then theirs is used: a
    call may already have linked it)."""
    try:
        os.link(tmp, dest)
    except FileExistsError:
        pass
    except OSError:  # no hard links here (some FUSE or network file systems): rename it
        os.replace(tmp, dest)


def _clone_or_copy(src: str, dst: str) -> None:
    """A copy-on-write clone (no data copied) where the file system can, else a full copy."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
            return
        except OSError:
            pass  # EOPNOTSUPP/EXDEV/EINVAL (ext4, tmpfs, another file system): copy the bytes
    shutil.copyfile(src, dst)
