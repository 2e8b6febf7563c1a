"""What the local backend checks of a run's options before anything is compiled: the run
folder writable, the ``--s3upload`` bucket answering, the container runtime's daemon up. A
typo costs nothing: a bad ``--s3upload`` is found by asking S3, not by a failed upload at the
end of the run."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

from ..errors import UsageError

BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_run_root(root: Path) -> None:
    """--dir must be a folder we can write in: made now if missing, probed with a file."""
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(f"--dir {root}: {probe} is a file, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        test = root / f".wdl2sfn-write-test-{os.getpid()}"
        test.write_text("")
        test.unlink()
    except OSError as exn:
        raise UsageError(f"--dir {root}: not writable ({exn.strerror or exn})") from exn


def check_s3upload(uri: str) -> None:
    """Scheme and bucket name, credentials, and the bucket reachable: before the run."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise UsageError(f"--s3upload {uri}: expected s3://BUCKET/PREFIX")
    if not BUCKET.match(parsed.netloc):
        raise UsageError(f"--s3upload {uri}: {parsed.netloc!r} is not a valid S3 bucket name")
    from .s3check import bucket_problem

    problem = bucket_problem(parsed.netloc)
    if problem:
        raise UsageError(f"--s3upload {uri}: {problem}")


def check_container_runtime(runtime: str) -> None:
    """--container docker|podman needs the command and a daemon that answers."""
    import shutil
    import subprocess

    exe = shutil.which(runtime)
    if exe is None:
        raise UsageError(f"--container {runtime}: no {runtime} command on PATH")
    try:
        probe = subprocess.run(
            [exe, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exn:
        raise UsageError(f"--container {runtime}: {runtime} does not answer ({exn})") from exn
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise UsageError(f"--container {runtime}: the {runtime} daemon is not usable: {reason}")
