"""A submitted job's record in moto kept in step with the local Batch that runs it.

moto's Batch (``use_docker: False``) marks a job SUCCEEDED the moment it is submitted, and
writes no logs. On AWS, ``DescribeJobs`` follows the job (SUBMITTED ... RUNNING, SUCCEEDED or
FAILED, with ``StatusReason``, ``startedAt``/``stoppedAt``, the exit code, the attempts) and its
output goes to CloudWatch Logs, group ``/aws/batch/job``, stream
``<job definition name>/default/<task id>``. :class:`JobMirror` copies the local job's state
into moto's record every :data:`SYNC_SECONDS` and appends the new lines of its log to that stream,
so ``wdl2sfn run --follow`` and ``wdl2sfn logs`` read them as on AWS; the job description the
Task state returns names moto's job and that stream.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ..local.batch import task_failure

LOG_GROUP = "/aws/batch/job"
SYNC_SECONDS = 0.5
MAX_EVENTS = 10_000  # PutLogEvents: events per call
MAX_MESSAGE = 256 * 1024 - 26  # an event's message, in characters here (AWS: bytes)
log = logging.getLogger(__name__)


class JobMirror:
    """One job: moto's record (``moto_id``) follows the local job's."""

    def __init__(self, account: str, region: str, moto_id: str, local: Any) -> None:
        from moto.batch.models import batch_backends
        from moto.logs.models import logs_backends

        self.job: Any = batch_backends[account][region]._jobs.get(moto_id)
        self.logs = logs_backends[account][region]
        self.local = local
        self.local_id: str | None = None
        self.offset = 0
        self.stream = str(self.job._stream_name) if self.job is not None else ""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        if self.job is not None:  # not run yet, whatever moto's simple Batch decided
            self.job.job_stopped, self.job.status, self.job.attempts = False, "SUBMITTED", []
            self.job.log_stream_name = self.stream
            self.logs.ensure_log_group(LOG_GROUP)
            self.logs.ensure_log_stream(LOG_GROUP, self.stream)
            self.job._container_details = self._container  # type: ignore[method-assign]  # moto leaves out exitCode

    def _container(self) -> dict[str, Any]:
        """DescribeJobs' ``container``: moto's, with ``exitCode`` as AWS reports it."""
        from moto.batch.models import Job

        details = dict(Job._container_details(self.job))
        if self.job.exit_code is not None:
            details["exitCode"] = self.job.exit_code
        return details

    def started(self, submitted: dict[str, Any]) -> None:
        """The local Batch's SubmitJob answer: follow that job from now on."""
        self.local_id = str(submitted.get("JobId"))
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        while not self._stop.wait(SYNC_SECONDS):
            try:
                self.sync()
            except Exception as exn:  # bookkeeping never fails a job
                log.warning("moto job record of %s: %s", self.local_id, exn)

    def sync(self) -> None:
        """Copy status, times, exit code and attempts; push new log lines."""
        if self.job is None or self.local_id is None:
            return
        with self._lock:
            found = self.local.describe_jobs(jobs=[self.local_id]).get("jobs") or []
            if not found:
                return
            desc = found[0]
            self._copy(desc)
            self._push_lines(desc)

    def _copy(self, desc: dict[str, Any]) -> None:
        job = self.job
        status = str(desc.get("status"))
        if desc.get("startedAt"):
            job.job_started_at = datetime.fromtimestamp(desc["startedAt"] / 1000)
        if desc.get("statusReason"):
            job.job_stopped_reason = desc["statusReason"]
        exit_code = (desc.get("container") or {}).get("exitCode")
        job.exit_code = exit_code if isinstance(exit_code, int) else None
        job.attempts = [self._attempt(a) for a in desc.get("attempts") or []]
        if status in ("SUCCEEDED", "FAILED"):
            job.job_stopped_at = datetime.fromtimestamp((desc.get("stoppedAt") or 0) / 1000)
            job.job_stopped = True
        job.status = status

    def _attempt(self, attempt: dict[str, Any]) -> dict[str, Any]:
        out = json.loads(json.dumps(attempt))
        out.setdefault("container", {})["logStreamName"] = self.stream
        return dict(out)

    def _push_lines(self, desc: dict[str, Any]) -> None:
        path = Path(str((desc.get("container") or {}).get("logStreamName") or ""))
        try:
            with open(path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        complete = data[: data.rfind(b"\n") + 1]
        if not complete:
            return
        self.offset += len(complete)
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line[:MAX_MESSAGE] or " "}
                  for line in complete.decode("utf-8", "replace").splitlines()]  # fmt: skip
        for start in range(0, len(events), MAX_EVENTS):  # PutLogEvents' quotas
            try:
                self.logs.put_log_events(LOG_GROUP, self.stream, events[start : start + MAX_EVENTS])
            except Exception as exn:  # bookkeeping never fails a job
                log.warning("CloudWatch Logs stand-in: %s: %s", self.stream, exn)

    def stop(self) -> None:
        self._stop.set()
        try:
            self.sync()
        except Exception as exn:  # bookkeeping never fails a job
            log.warning("moto job record of %s: %s", self.local_id, exn)

    def result(self, job: dict[str, Any]) -> dict[str, Any]:
        """The Task state's job description names moto's job, its queue and its CloudWatch
        stream."""
        if self.job is None:
            return job
        job = dict(job, JobId=self.job.job_id, JobArn=self.job.arn, JobQueue=self.job.job_queue.arn)
        job["Container"] = dict(job.get("Container") or {}, LogStreamName=self.stream)
        job["Attempts"] = [dict(a, Container=dict(a.get("Container") or {},
                                                  LogStreamName=self.stream))
                           for a in job.get("Attempts") or []]  # fmt: skip
        return job

    def failure(self, exn: Exception) -> Exception:
        """A failed job's TaskFailure, its cause (the job description) renamed as result()."""
        cause = getattr(exn, "cause", None)
        try:
            job = json.loads(cause) if isinstance(cause, str) else None
        except ValueError:
            job = None
        if not isinstance(job, dict) or "JobId" not in job:
            return exn
        text = json.dumps(self.result(job), sort_keys=True, separators=(",", ":"))
        return task_failure(str(getattr(exn, "error", "States.TaskFailed")), text)
