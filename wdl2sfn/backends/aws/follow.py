"""``--follow`` on AWS: the live view of a local run (``wdl2sfn.runs.progress.Progress``), fed from
the APIs a run leaves its traces in.

Each poll reads, oldest first, the new GetExecutionHistory events of every execution of the run
not yet ended: the parent, each Distributed Map child (found with ListExecutions and the
``mapRunArn`` of each ``MapRunStarted``) and each child machine's execution (the ``ExecutionArn``
of a ``states`` TaskSubmitted, in any execution: each call's call machine execution, the finish
machine's, inside Map Run children too; their events go to the counter under their own ARN, which
names their states after the call). Batch jobs (from each ``batch`` TaskSubmitted) are
followed with DescribeJobs (100 a call): the view's "running"/"queued" split, and one line per
status change with its ``StatusReason`` under ``--verbose``; with ``--verbose`` the task's log
lines come from CloudWatch Logs (group ``/aws/batch/job``, the job's ``LogStreamName``,
GetLogEvents with the forward token).

Polling is bounded: every API call spends one token of a bucket refilled at
``WDL2SFN_FOLLOW_CALLS_PER_SECOND`` (default 5) calls per second, and a poll starts at most every
``WDL2SFN_POLL_SECONDS`` (default 5). Ctrl-C stops following, never the run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ...contract.settings import load_settings
from . import parse_json
from .wait import Detached, new_events

LOG_GROUP = "/aws/batch/job"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
JOB_TERMINAL = ("SUCCEEDED", "FAILED")
END_EVENTS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")
DESCRIBE_JOBS_MAX = 100


def calls_per_second() -> float:
    return max(0.1, float(load_settings().follow_calls_per_second))


class Budget:
    """A token bucket: at most ``rate`` calls per second on average, bursts of ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.last = time.monotonic()
        self.calls = 0

    def spend(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            time.sleep((1 - self.tokens) / self.rate)
            self.tokens, self.last = 1.0, time.monotonic()
        self.tokens -= 1
        self.calls += 1


@dataclass
class Job:
    """A Batch job of the run, as DescribeJobs last showed it."""

    name: str
    status: str = "SUBMITTED"
    stream: str | None = None
    token: str | None = None  # GetLogEvents' nextForwardToken
    drained: bool = False  # ended, and its log read to the end


@dataclass
class Watcher:
    """Everything one ``--follow`` has seen of a run, and one poll of what is new."""

    aws: Any
    arn: str
    progress: Any
    verbose: bool = False
    budget: Budget = field(default_factory=lambda: Budget(calls_per_second()))
    last_id: dict[str, int] = field(default_factory=dict)  # execution -> last event id read
    open: list[str] = field(default_factory=list)  # executions not ended
    map_runs: dict[str, int] = field(default_factory=dict)  # open map run -> MapRunStarted id
    jobs: dict[str, Job] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.open.append(self.arn)
        self.last_id[self.arn] = 0
        self.progress.running_jobs = self.running

    def running(self) -> int:
        with self._lock:
            return sum(1 for job in self.jobs.values() if job.status == "RUNNING")

    def call(self, service: str, method: str, **kwargs: Any) -> Any:
        from . import _aws_call

        self.budget.spend()
        client = self.aws.client(service)
        return _aws_call(method, getattr(client, method), **kwargs)

    def poll(self) -> dict[str, Any] | None:
        """One round; the execution's description once it has ended and all is read."""
        from . import json_able

        description = json_able(self.call("stepfunctions", "describe_execution",
                                          executionArn=self.arn))  # fmt: skip
        seen = sum(self._read(arn) for arn in list(self.open))
        for run in list(self.map_runs):
            self._children(run)
        self._describe_jobs()
        if self.verbose:
            self._read_logs()
        if description["status"] in TERMINAL and not seen and self._drained():
            return dict(description)
        return None

    def _drained(self) -> bool:
        return not self.verbose or all(job.drained for job in self.jobs.values())

    # ------------------------------------------------------------------ executions
    def _read(self, arn: str) -> int:
        self.budget.spend()
        events = new_events(self.aws, arn, self.last_id.get(arn, 0))
        for event in events:
            self.last_id[arn] = max(self.last_id.get(arn, 0), int(event.get("id", 0)))
            self.progress.on_event(arn, event)
            if self.verbose:
                self.progress.note(event_line(event))
            self._discover(arn, event)
        return len(events)

    def _discover(self, arn: str, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "MapRunStarted":
            run = (event.get("mapRunStartedEventDetails") or {}).get("mapRunArn")
            if run:
                self.map_runs[str(run)] = 0
        elif kind == "TaskSubmitted":
            details = event.get("taskSubmittedEventDetails") or {}
            output = parse_json(details.get("output"))
            if not isinstance(output, dict):
                return
            if details.get("resourceType") == "batch" and output.get("JobId"):
                with self._lock:
                    self.jobs.setdefault(str(output["JobId"]), Job(str(output.get("JobName"))))
            elif details.get("resourceType") == "states" and output.get("ExecutionArn"):
                self._open(str(output["ExecutionArn"]))
        elif kind in END_EVENTS and arn in self.open:
            self.open.remove(arn)

    def _open(self, arn: str) -> None:
        if arn not in self.last_id:
            self.last_id[arn] = 0
            self.open.append(arn)

    def _children(self, run: str) -> None:
        """New children of a Map Run; a Map Run that has ended is listed one last time."""
        described = self.call("stepfunctions", "describe_map_run", mapRunArn=run)
        token = None
        while True:
            kwargs = {"mapRunArn": run, **({"nextToken": token} if token else {})}
            page = self.call("stepfunctions", "list_executions", **kwargs)
            for child in page.get("executions", []):
                self._open(str(child["executionArn"]))
            token = page.get("nextToken")
            if not token:
                break
        if described.get("status") in TERMINAL:
            del self.map_runs[run]

    # ------------------------------------------------------------------ Batch jobs
    def _describe_jobs(self) -> None:
        with self._lock:
            ids = [i for i, job in self.jobs.items() if job.status not in JOB_TERMINAL]
        for start in range(0, len(ids), DESCRIBE_JOBS_MAX):
            page = self.call("batch", "describe_jobs", jobs=ids[start : start + DESCRIBE_JOBS_MAX])
            for found in page.get("jobs", []):
                self._job_changed(found)

    def _job_changed(self, found: dict[str, Any]) -> None:
        with self._lock:
            job = self.jobs.get(str(found.get("jobId")))
            if job is None:
                return
            status = str(found.get("status"))
            job.stream = (found.get("container") or {}).get("logStreamName") or job.stream
            changed, job.status = status != job.status, status
        if changed and (self.verbose or status == "FAILED"):
            reason = found.get("statusReason")
            self.progress.note(f"job {job.name}: {status}" + (f" ({reason})" if reason else ""))

    def _read_logs(self) -> None:
        from . import AwsBackendError

        for job in list(self.jobs.values()):
            if job.stream is None or job.drained:
                continue
            kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": job.stream,
                                      "startFromHead": True}  # fmt: skip
            if job.token:
                kwargs["nextToken"] = job.token
            try:
                page = self.call("logs", "get_log_events", **kwargs)
            except AwsBackendError as exn:
                if exn.error == "ResourceNotFoundException":  # no line written yet
                    continue
                raise
            for event in page.get("events", []):
                self.progress.on_output(job.name, str(event.get("message", "")))
            ended = job.status in JOB_TERMINAL
            job.drained = ended and (not page.get("events") or page.get("nextForwardToken")
                                     == job.token)  # fmt: skip
            job.token = page.get("nextForwardToken") or job.token


def follow(aws: Any, arn: str, *, verbose: bool = False,
           scatters_of: dict[str, list[str]] | None = None) -> dict[str, Any]:  # fmt: skip
    """Poll into the live view until the execution ends; Ctrl-C raises Detached."""
    from ...runs.progress import Progress
    from . import poll_seconds

    with Progress(verbose=verbose, scatters_of=scatters_of or {}) as progress:
        watcher = Watcher(aws, arn, progress, verbose)
        try:
            while True:
                began = time.monotonic()
                ended = watcher.poll()
                if ended is not None:
                    return ended
                time.sleep(max(0.0, poll_seconds() - (time.monotonic() - began)))
        except KeyboardInterrupt:
            raise Detached(arn) from None


def event_line(event: dict[str, Any]) -> str:
    """One history event as a line of --verbose output: time, type, state name or error."""
    details: dict[str, Any] = {}
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            details = value
    name = details.get("name") or details.get("error") or ""
    return f"{event.get('timestamp', '')} {event.get('type')} {name}".rstrip()
