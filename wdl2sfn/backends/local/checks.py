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


#: each engine's own question, answered only by an engine that can serve containers: docker's
#: daemon version (a client without a daemon fails), podman's server version (podman has no
#: daemon and no `info` ServerVersion field; `.Server` is libpod itself, or the podman service a
#: remote client talks to, and fails when that does not answer). `podman info` would also
#: work but takes 0.6-0.7 s a run here, `version` 0.07 s; neither starts a container.
ENGINE_PROBES = {
    "docker": ("info", "--format", "{{.ServerVersion}}"),
    "podman": ("version", "--format", "{{.Server.Version}}"),
}


def engine_problem(engine: str) -> str | None:
    """None when `engine` answers its probe, else why not, in the engine's own words."""
    import shutil
    import subprocess

    exe = shutil.which(engine)
    if exe is None:
        return f"no {engine} command on PATH"
    try:
        probe = subprocess.run(
            [exe, *ENGINE_PROBES[engine]], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exn:
        return f"{engine} does not answer ({exn})"
    if probe.returncode == 0 and probe.stdout.strip():
        return None
    lines = [ln.strip() for ln in probe.stderr.splitlines() if ln.strip()]
    return f"{engine} is not usable: {lines[-1] if lines else f'exit {probe.returncode}'}"


def resolve_container(choice: str) -> str:
    """--container as the run will use it: host, docker or podman. A forced engine that does
    not answer is a UsageError with the engine's message; auto takes the first engine that
    answers (docker, then podman), else the host, with one notice line on stderr."""
    import sys

    if choice == "host":
        return "host"
    if choice in ENGINE_PROBES:
        problem = engine_problem(choice)
        if problem:
            raise UsageError(f"--container {choice}: {problem}")
        return choice
    if choice != "auto":
        raise UsageError(f"--container {choice}: expected auto, host, docker or podman")
    problems = []
    for engine in ENGINE_PROBES:
        problem = engine_problem(engine)
        if problem is None:
            return engine
        problems.append(problem)
    print(
        f"wdl2sfn: no container engine answers ({'; '.join(problems)}): tasks run on this "
        f"machine and their images are ignored (--container host says so and skips this check)",
        file=sys.stderr,
    )
    return "host"
