"""Task images for docker/podman jobs: each pulled once per local Batch, before the first attempt
that needs it starts, as an ECS agent pulls a job's image before starting its container.

A pull that fails ends the attempt before its command with the reason ECS gives
(``CannotPullContainerError: ...``) naming the image, the engine and the engine's own message.
Each pull says so on the run's progress (logger ``wdl2sfn.backends.local.batch.images``, shown at
INFO): a line when it starts and one when it ends; the engine's own progress goes to the job's
log."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: ECS's container reason for an image it could not pull (AWS Batch retry strategies match it
#: with ``onReason: "CannotPullContainerError:*"``, aws_batch.Reason.CANNOT_PULL_CONTAINER)
CANNOT_PULL = "CannotPullContainerError"
#: the engines' "is this image here" question (exit status 0: yes)
_PRESENT = {"docker": ("image", "inspect", "--format", "{{.Id}}"), "podman": ("image", "exists")}
PULL_TIMEOUT_S = 1800
#: `docker run` / `podman run` exit statuses of their own: the engine failed (125), the command
#: could not be invoked (126) or found (127) -- ECS reports these as CannotStartContainerError
ENGINE_STATUSES = (125, 126, 127)
#: how each engine starts its own error lines
_ENGINE_ERROR = (b"Error: ", b"docker: Error response from daemon: ")


class ImagePuller:
    """Pulls each image at most once (concurrent attempts needing it wait for the one pull). A
    failed pull is not tried again in this run: ECS would try again on each attempt, but here
    a scatter of 50 shards would then wait for 50 pulls (each with the engine's own retries)
    that fail the same way."""

    def __init__(self, runtime: str, exe: str) -> None:
        self.runtime = runtime
        self.exe = exe
        self._ready: set[str] = set()
        self._failed_pulls: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def ensure(self, image: str, log_path: Path) -> str | None:
        """None once `image` is here, else the attempt's reason (<= 255 characters, as Batch's
        container reason)."""
        with self._guard:
            if image in self._ready:
                return None
            lock = self._locks.setdefault(image, threading.Lock())
        with lock:
            if image in self._ready:
                return None
            if image in self._failed_pulls:
                return self._failed_pulls[image]
            problem = self._present_or_pulled(image, log_path)
            with self._guard:
                if problem is None:
                    self._ready.add(image)
                else:
                    self._failed_pulls[image] = problem
            return problem

    def _present_or_pulled(self, image: str, log_path: Path) -> str | None:
        present = subprocess.run(
            [self.exe, *_PRESENT[self.runtime], image], capture_output=True, timeout=120
        )
        if present.returncode == 0:
            return None
        log.info("pulling %s with %s", image, self.runtime)
        started = time.monotonic()
        try:
            with open(log_path, "ab") as out:
                pulled = subprocess.run(
                    [self.exe, "pull", image],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.PIPE,
                    timeout=PULL_TIMEOUT_S,
                )
                out.write(pulled.stderr)
        except (OSError, subprocess.TimeoutExpired) as exn:
            return self._failed(image, str(exn))
        if pulled.returncode != 0:
            lines = pulled.stderr.decode("utf-8", "replace").strip().splitlines()
            return self._failed(image, lines[-1] if lines else f"exit {pulled.returncode}")
        log.info("pulled %s in %.1f s", image, time.monotonic() - started)
        return None

    def _failed(self, image: str, why: str) -> str:
        reason = f"{CANNOT_PULL}: {self.runtime} pull {image}: {why.strip()}"
        log.warning("cannot pull %s (--container %s): %s", image, self.runtime, why.strip())
        return reason[:255]


def container_not_started(rc: int, log_path: Path, since: int) -> str | None:
    """ECS's reason for a container that never ran its command (an image without bash, a bad
    user, an unusable runtime), from the engine's error line in the job's log after `since`;
    None for any other end. A task's own 127 (a command not found inside the script) has no
    such line from the engine."""
    if rc not in ENGINE_STATUSES:
        return None
    try:
        with open(log_path, "rb") as f:
            f.seek(since)
            lines = f.read(65536).splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(_ENGINE_ERROR):
            text = line.decode("utf-8", "replace").strip()
            return f"CannotStartContainerError: {text}"[:255]
    return None
