"""Jobs and their records: the DescribeJobs description each job keeps up to date (status,
attempts, container exit code), and the table of jobs a LocalBatch can still describe."""

from __future__ import annotations

import collections
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .api import now_ms

#: finished jobs a LocalBatch keeps describable (Batch keeps recent jobs too)
KEEP_FINISHED = 1000


class Job:
    """One submitted job: its description (DescribeJobs shape, camelCase) and what stops it."""

    def __init__(self, desc: dict[str, Any]) -> None:
        self.desc = desc
        self.terminate = threading.Event()
        self.terminate_reason = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.container_name: str | None = None
        self.scratch: str | None = None
        self.lock = threading.Lock()

    def set_status(self, status: str) -> None:
        with self.lock:
            self.desc["status"] = status

    def finish(self, status: str, reason: str) -> None:
        """The job's end: SUCCEEDED or FAILED, with Batch's StatusReason."""
        with self.lock:
            self.desc["status"] = status
            self.desc["statusReason"] = reason
            self.desc["stoppedAt"] = now_ms()

    @property
    def finished(self) -> bool:
        return self.desc.get("status") in ("SUCCEEDED", "FAILED")

    def record_attempt(self, result: AttemptResult, log_path: Path) -> None:
        """Append the attempt to Attempts[] and show its exit in Container, as Batch does."""
        record: dict[str, Any] = {
            "container": {"logStreamName": str(log_path), "networkInterfaces": []},
            "statusReason": result.status_reason,
        }
        if result.exit_code is not None:
            record["container"]["exitCode"] = result.exit_code
        if result.reason:
            record["container"]["reason"] = result.reason
        if result.started_at is not None:
            record["startedAt"] = result.started_at
        record["stoppedAt"] = result.stopped_at or now_ms()
        with self.lock:
            self.desc["attempts"].append(record)
            container = self.desc["container"]
            container.pop("exitCode", None)
            container.pop("reason", None)
            if result.exit_code is not None:
                container["exitCode"] = result.exit_code
            if result.reason:
                container["reason"] = result.reason
            if result.started_at is not None:
                self.desc["startedAt"] = result.started_at

    def summary(self) -> dict[str, Any]:
        """The job as ListJobs summarizes it (call with the job's lock held)."""
        d = self.desc
        summary = {k: d[k] for k in ("jobArn", "jobId", "jobName", "createdAt", "status")}
        for k in ("statusReason", "startedAt", "stoppedAt", "jobDefinition"):
            if k in d:
                summary[k] = d[k]
        return summary


@dataclass
class AttemptResult:
    """How one attempt ended."""

    status_reason: str
    exit_code: int | None = None
    reason: str | None = None
    terminal: bool = False  # no retry whatever evaluateOnExit says (timeout, termination)
    started_at: int | None = None
    stopped_at: int | None = None

    @classmethod
    def not_started(cls, status_reason: str, reason: str | None = None) -> AttemptResult:
        """An attempt whose command never ran (injected fault, container that cannot start)."""
        now = now_ms()
        return cls(status_reason=status_reason, reason=reason, started_at=now, stopped_at=now)


class JobTable:
    """Jobs by id; thread-safe. Only the last KEEP_FINISHED finished jobs stay describable, so
    memory stays flat over a 100,000-job run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._finished: collections.deque[str] = collections.deque()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.desc["jobId"]] = job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def forget_old(self, finished: str) -> None:
        """`finished` has ended: drop the oldest finished jobs beyond KEEP_FINISHED."""
        with self._lock:
            self._finished.append(finished)
            while len(self._finished) > KEEP_FINISHED:
                self._jobs.pop(self._finished.popleft(), None)
