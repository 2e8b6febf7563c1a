"""Task job definitions registered once per run, one prepare at a time, throttling retried.

Every shard's prepare (a Lambda invocation, or an FSx runner job) needs the run's content-hashed
job definition. Checking Batch and registering when none is ACTIVE races: concurrent prepares all
find none and each registers a revision (5 revisions of one definition in an 8-shard run). And
every DescribeJobDefinitions / RegisterJobDefinition counts against Batch's request rate, the
same 50 a second per account as the run's SubmitJob calls (AWS Batch service quotas), which
answers past it with "Too Many Requests" (a ClientException or TooManyRequestsException).

So, per run, a marker ``<run>/_jobdefs/<name>.json`` on the shared file system says the
definition is registered: a prepare that finds it makes no Batch call at all. The first prepare
without it takes the definition's lock (a file created with O_EXCL, which NFSv4 (EFS) and Lustre
make atomic; a lock older than ``LOCK_STALE_S``, left by a prepare that was killed, is broken),
looks again, describes, registers if needed, and writes the marker. Throttled calls are retried
with exponential backoff and jitter, as AWS advises for this error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .atomic import write_json_atomic
from .lock_file import older_than, take_lock

FOLDER = "_jobdefs"  # under the run folder
LOCK_STALE_S = 120.0
THROTTLE_ATTEMPTS = 8
THROTTLE_CODES = ("TooManyRequestsException", "ThrottlingException")

T = TypeVar("T")


def register_once(client: Any, name: str, body: dict[str, Any], folder: Path | None) -> None:
    """Make ``name`` an ACTIVE job definition of ``body``, once per ``folder`` (a run's)."""
    if folder is None:
        _describe_or_register(client, name, body)
        return
    marker = folder / f"{name}.json"
    if marker.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder / f"{name}.lock"):
        if marker.exists():
            return
        arn = _describe_or_register(client, name, body)
        write_json_atomic(marker, {"name": name, "arn": arn})


def _describe_or_register(client: Any, name: str, body: dict[str, Any]) -> str:
    found = throttled(
        lambda: client.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")
    )
    active = [d for d in found.get("jobDefinitions", []) if d.get("status", "ACTIVE") == "ACTIVE"]
    if active:
        return str(active[0].get("jobDefinitionArn") or name)
    done = throttled(lambda: client.register_job_definition(jobDefinitionName=name, **body))
    return str((done or {}).get("jobDefinitionArn") or name)


def is_throttling(exn: BaseException) -> bool:
    """Batch's "Too Many Requests" (HTTP 429), whichever error code the SDK reports it with."""
    error = (getattr(exn, "response", None) or {}).get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    return code in THROTTLE_CODES or (code == "ClientException" and "Too Many Requests" in message)


def throttled(call: Callable[[], T], attempts: int = THROTTLE_ATTEMPTS) -> T:
    """``call()``, retried on throttling with exponential backoff and full jitter (0.5 s
    doubling, at most 20 s a wait: about a minute and a half over 8 attempts)."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exn:
            if not is_throttling(exn) or attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0.5, 1.0) * min(20.0, 0.5 * 2**attempt))
    raise AssertionError("unreachable")


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold ``lock`` (a lock file) for the block; break it when older than ``LOCK_STALE_S``."""
    while not take_lock(lock, older_than(LOCK_STALE_S), mode=0o600):
        time.sleep(0.02 + random.random() * 0.05)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
