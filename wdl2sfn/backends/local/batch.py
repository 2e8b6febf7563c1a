"""A local AWS Batch: runs `batch:submitJob.sync` jobs as host subprocesses (or docker/podman).

Behaviour follows AWS Batch as documented, so that a local run exercises the same retry, timeout and
failure paths the state machine meets on AWS:

- admission: a job attempt waits until its VCPU / MEMORY (MiB) / GPU requirements fit in what is
  free on this machine; a job that can never fit fails at once (AWS would leave it RUNNABLE forever,
  which is never what a laptop user wants).
- RetryStrategy: ``attempts`` 1-10; ``evaluateOnExit`` entries are checked in order, the first whose
  every given condition matches decides (RETRY or EXIT, case-insensitive); if none matches the job
  is retried. A pattern is matched exactly, or as a prefix when it ends with ``*`` (the only
  wildcard Batch documents). A field the attempt does not have (no exit code after a host
  termination, no container reason after a normal exit) is matched as the empty string, so only
  ``*`` matches it -- which is what makes the documented catch-all ``{"onReason": "*", "action":
  "EXIT"}`` "exit for any reason".
  https://docs.aws.amazon.com/batch/latest/APIReference/API_EvaluateOnExit.html
  https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html
- Timeout.attemptDurationSeconds: the attempt is terminated (SIGTERM, SIGKILL after a grace) and the
  job is not retried (https://docs.aws.amazon.com/batch/latest/userguide/job_timeouts.html). Locally
  values under AWS's 60 s minimum are accepted so tests stay fast.
- terminated jobs (the managing Task state aborted, terminate_job, shutdown) are not retried.
- a container's exit kills everything left in it: when the job's main process exits, the rest of its
  process group is killed too.

The .sync result is the DescribeJobs job with Step Functions' PascalCase keys (JobId, Status,
StatusReason, Container.ExitCode, Container.LogStreamName, Attempts[].Container.ExitCode, ...);
a FAILED job raises TaskFailure("States.TaskFailed", <that description as JSON>), as Step Functions
reports it. API errors (unknown queue or job definition, invalid parameters) raise
TaskFailure("Batch.ClientException", ...), the name Step Functions gives a Batch API error.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import fnmatch
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wdl2sfn.backends.local.orphans import JobLedger
from wdl2sfn.task_runner.jobdefs import FileJobDefinitions

log = logging.getLogger(__name__)

REGION = "local"
ACCOUNT = "000000000000"
ARN_PREFIX = f"arn:aws:batch:{REGION}:{ACCOUNT}"

#: queues a LocalBatch accepts unless told otherwise (docs/design.md, "Placeholders")
DEFAULT_QUEUES: tuple[str, ...] = ("wdl2sfn-cpu", "wdl2sfn-spot", "wdl2sfn-gpu", "wdl2sfn-runner")
#: the runner job definition every LocalBatch registers at construction (revision 1)
RUNNER_JOB_DEFINITION = "wdl2sfn-runner"
RUNNER_IMAGE = "wdl2sfn-runner"

FAULTS_ENV = "WDL2SFN_LOCAL_BATCH_FAULTS"
#: environment variables of the executor that task commands must not inherit
STEP_SECRETS = frozenset({"WDL2SFN_CACHE_KEY"})

REASON_EXITED = "Essential container in task exited"
REASON_TIMEOUT = "Job attempt duration exceeded timeout"
REASON_ABORTED = "Job terminated: the managing Task state was aborted"
REASON_SHUTDOWN = "Job terminated: the local Batch scheduler shut down"
REASON_START_FAILED = "Task failed to start"
DEFAULT_HOST_TERMINATION = "Host EC2 (instance i-0123456789abcdef0) terminated."

_LOG_PREFIX = "[wdl2sfn local batch]"
# map-typed fields of the Batch API whose keys are user data, not member names
_MAP_FIELDS = frozenset({"parameters", "tags", "Parameters", "Tags"})


# --------------------------------------------------------------------------------------------
# TaskFailure: owned by wdl2sfn.statemachine.executor; imported lazily so this module works
# (and its tests pass) whether or not that module has landed.
# --------------------------------------------------------------------------------------------


class _FallbackTaskFailure(Exception):
    """Stand-in with the executor's documented constructor, used only if it cannot be imported."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(error, cause)
        self.error = error
        self.cause = cause


def task_failure_class() -> type[Exception]:
    """The executor's TaskFailure class (or a compatible stand-in if it does not exist yet)."""
    try:
        from wdl2sfn.statemachine.executor import TaskFailure
    except ImportError:
        try:  # where the executor's package defines it
            from wdl2sfn.statemachine.errors import TaskFailure
        except ImportError:
            return _FallbackTaskFailure
    return TaskFailure


def task_failure(error: str, cause: str) -> Exception:
    return task_failure_class()(error, cause)


def _client_exception(message: str) -> Exception:
    """A Batch API error, reported the way Step Functions reports one (error name Batch.<Code>)."""
    request_id = str(uuid.uuid4())
    cause = (
        f"Error executing request, Exception : {message}, RequestId: {request_id} "
        f"(Service: AWSBatch; Status Code: 400; Error Code: ClientException; "
        f"Request ID: {request_id}; Proxy: null)"
    )
    return task_failure("Batch.ClientException", cause)


class BatchClientError(ValueError):
    """Raised by the boto3-shaped methods (register/describe) for invalid requests."""


# --------------------------------------------------------------------------------------------
# Key-case helpers
# --------------------------------------------------------------------------------------------


def _recase(value: Any, first: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            nk = first(k[:1]) + k[1:] if isinstance(k, str) else k
            out[nk] = copy.deepcopy(v) if k in _MAP_FIELDS else _recase(v, first)
        return out
    if isinstance(value, list):
        return [_recase(v, first) for v in value]
    return value


def to_pascal_case(value: Any) -> Any:
    """camelCase Batch API shape -> Step Functions' PascalCase (map fields' keys untouched)."""
    return _recase(value, str.upper)


def to_camel_case(value: Any) -> Any:
    """PascalCase Step Functions parameters -> boto3's camelCase (map fields' keys untouched)."""
    return _recase(value, str.lower)


# --------------------------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultRule:
    """Attempts of jobs whose JobName matches ``job`` (fnmatch glob) end like a reclaimed spot
    instance: StatusReason ``reason``, no exit code. ``attempts`` None means every attempt.
    ``after_seconds`` None: the command never starts; else it is killed after that many seconds."""

    job: str = "*"
    attempts: tuple[int, ...] | None = None
    reason: str = DEFAULT_HOST_TERMINATION
    after_seconds: float | None = None
    queue: str = "*"  # glob on the job queue's name, e.g. "wdl2sfn-spot"

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> FaultRule:
        unknown = set(rule) - {"job", "attempts", "reason", "after_seconds", "queue"}
        if unknown:
            raise ValueError(f"fault rule {dict(rule)!r}: unknown keys {sorted(unknown)}")
        attempts = rule.get("attempts")
        if attempts is not None:
            if isinstance(attempts, int):
                attempts = [attempts]
            attempts = tuple(int(a) for a in attempts)
        after = rule.get("after_seconds")
        return cls(
            job=str(rule.get("job", "*")),
            attempts=attempts,
            reason=str(rule.get("reason", DEFAULT_HOST_TERMINATION)),
            after_seconds=None if after is None else float(after),
            queue=str(rule.get("queue", "*")),
        )

    def matches(self, job_name: str, attempt: int, queue: str = "") -> bool:
        if not fnmatch.fnmatchcase(job_name, self.job):
            return False
        if self.queue != "*" and not fnmatch.fnmatchcase(queue.rsplit("/", 1)[-1], self.queue):
            return False
        return self.attempts is None or attempt in self.attempts


class FaultPlan:
    """Fault injection for tests: ``FaultPlan([{"job": "call-a*", "attempts": [1], "reason":
    "Host EC2 (instance i-0abc) terminated."}])``. The first matching rule applies."""

    def __init__(self, rules: Iterable[Mapping[str, Any] | FaultRule] = ()) -> None:
        self.rules: tuple[FaultRule, ...] = tuple(
            r if isinstance(r, FaultRule) else FaultRule.from_dict(r) for r in rules
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, var: str = FAULTS_ENV
    ) -> FaultPlan | None:
        """The plan in env var WDL2SFN_LOCAL_BATCH_FAULTS (a JSON list of rules, or
        {"rules": [...]}), or None if it is unset or empty."""
        text = (os.environ if environ is None else environ).get(var, "").strip()
        if not text:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{var} is not valid JSON: {e}") from e
        if isinstance(data, dict):
            data = data.get("rules", [])
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValueError(f"{var} must be a JSON list of rule objects")
        return cls(data)

    def match(self, job_name: str, attempt: int, queue: str = "") -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(job_name, attempt, queue):
                return rule
        return None

    def __bool__(self) -> bool:
        return bool(self.rules)


# --------------------------------------------------------------------------------------------
# RetryStrategy.evaluateOnExit
# --------------------------------------------------------------------------------------------


def batch_pattern_matches(pattern: str, value: str | None) -> bool:
    """Batch's glob: exact match, or prefix match when the pattern ends with ``*``.
    A missing value is matched as the empty string."""
    value = "" if value is None else value
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def evaluate_on_exit(
    rules: Sequence[Mapping[str, Any]],
    *,
    status_reason: str | None,
    reason: str | None,
    exit_code: int | None,
) -> str:
    """ "RETRY" or "EXIT" for a failed attempt: first rule whose every given condition matches;
    if none matches, RETRY (as AWS Batch documents)."""
    exit_text = None if exit_code is None else str(exit_code)
    for rule in rules:
        conds = [
            (rule.get("onStatusReason"), status_reason),
            (rule.get("onReason"), reason),
            (rule.get("onExitCode"), exit_text),
        ]
        if all(p is None or batch_pattern_matches(str(p), v) for p, v in conds):
            return str(rule.get("action", "RETRY")).upper()
    return "RETRY"


# --------------------------------------------------------------------------------------------
# Machine resources
# --------------------------------------------------------------------------------------------


def detect_memory_mib() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024))
    except (ValueError, OSError, AttributeError):
        return 4096


def detect_gpus() -> int:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return 0
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return 0
    if out.returncode != 0:
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


@dataclass(frozen=True)
class _Need:
    vcpus: float
    memory: int
    gpus: int

    def describe(self) -> str:
        return f"{_fmt_num(self.vcpus)} VCPU, {self.memory} MiB MEMORY, {self.gpus} GPU"


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------


class _Job:
    def __init__(self, desc: dict[str, Any]) -> None:
        self.desc = desc  # DescribeJobs shape (camelCase)
        self.terminate = threading.Event()
        self.terminate_reason = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.container_name: str | None = None
        self.scratch: str | None = None
        self.lock = threading.Lock()


@dataclass
class _AttemptResult:
    status_reason: str
    exit_code: int | None = None
    reason: str | None = None
    terminal: bool = False  # no retry whatever evaluateOnExit says (timeout, termination)
    started_at: int | None = None
    stopped_at: int | None = None


def _exit_watcher(proc: subprocess.Popen[Any]) -> threading.Event:
    """An event set when `proc` exits (not reaped: WNOWAIT), so waiting costs no polling delay."""
    exited = threading.Event()

    def watch() -> None:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        exited.set()

    threading.Thread(target=watch, daemon=True, name=f"exit-{proc.pid}").start()
    return exited


KEEP_FINISHED = 1000
SHUTDOWN_WAIT_SECONDS = 15.0  # shutdown waits this long for killed attempts to clean up
ADMISSION_RECHECK_SECONDS = 0.5  # queued jobs also re-check (stop requests, missed wake-ups)


class LocalBatch:
    """AWS Batch for `batch:submitJob.sync`, running each job as a host subprocess.

    Thread-safe: the executor calls submit_job_sync from as many threads as it runs states.

    cpus / memory_mib / gpus: the machine's capacity (default: os.cpu_count(), MemTotal, the
    GPUs `nvidia-smi -L` lists). On the host runtime VCPU and MEMORY only gate admission; they
    are not enforced on the process (no cgroup, no OOM kill). With docker/podman they become
    --cpus / --memory.
    runtime: "host", or "docker"/"podman" (the job definition's image; its executable must be
    on PATH).
    log_dir: each job's stdout+stderr goes to log_dir/<jobId>.log, its Container.LogStreamName
    (default: a new temporary directory).
    faults: fault injection (FaultPlan); on_output: (job name, line) for each stderr line.
    queues: the job queue names accepted (an ARN's last path segment is its name).
    mounts: host paths bind-mounted at the same path into containers (the run store).
    kill_grace_seconds: SIGTERM -> SIGKILL delay on timeout, abort or termination (AWS: 30).
    clamp_to_machine: run a job that asks more than the machine has with what the machine has
    (as miniwdl caps runtime.cpu/memory to the host), instead of failing it at once.
    ledger_dir: where running attempts are written down (orphans.JobLedger); at construction
    the attempts of executors that are gone (killed with SIGKILL) are killed.
    """

    def __init__(
        self,
        *,
        cpus: int | None = None,
        memory_mib: int | None = None,
        gpus: int | None = None,
        runtime: str = "host",
        log_dir: Path | None = None,
        faults: FaultPlan | None = None,
        on_output: Callable[[str, str], None] | None = None,
        queues: Iterable[str] = DEFAULT_QUEUES,
        mounts: Iterable[str | Path] = (),
        kill_grace_seconds: float = 10.0,
        clamp_to_machine: bool = False,
        registry_dir: Path | None = None,
        ledger_dir: Path | None = None,
        launcher: Callable[[dict[str, Any], list[str]], list[str]] | None = None,
    ) -> None:
        if runtime not in ("host", "docker", "podman"):
            raise ValueError(f"runtime must be 'host', 'docker' or 'podman', not {runtime!r}")
        self.runtime = runtime
        self.runtime_exe: str | None = None
        if runtime != "host":
            self.runtime_exe = shutil.which(runtime)
            if not self.runtime_exe:
                raise RuntimeError(
                    f"local Batch runtime {runtime!r} requested but no {runtime!r} executable is "
                    f"on PATH; install {runtime} or use runtime='host'"
                )
        self.cpus = float(cpus if cpus is not None else (os.cpu_count() or 1))
        self.memory_mib = int(memory_mib if memory_mib is not None else detect_memory_mib())
        self.gpus = int(gpus if gpus is not None else detect_gpus())
        if self.cpus <= 0 or self.memory_mib <= 0 or self.gpus < 0:
            raise ValueError("cpus and memory_mib must be positive, gpus non-negative")
        if log_dir is None:
            log_dir = Path(tempfile.mkdtemp(prefix="wdl2sfn-batch-logs-"))
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.faults = faults
        self.on_output = on_output
        self.queues = {q: f"{ARN_PREFIX}:job-queue/{q}" for q in queues}
        self.mounts = tuple(str(Path(m).resolve()) for m in mounts)
        self.kill_grace_seconds = float(kill_grace_seconds)
        self.clamp_to_machine = clamp_to_machine
        self.registry = FileJobDefinitions(registry_dir) if registry_dir is not None else None
        self.container_user: str | None = None  # uid:gid for containers (run --as-me)
        # host runtime: wraps each attempt's command (the AWS rehearsal's sandbox); an exception
        # it raises fails the attempt as a container that cannot start
        self.launcher = launcher

        self._cond = threading.Condition()
        self._free_cpus = self.cpus
        self._free_mem = self.memory_mib
        self._free_gpu_ids: list[int] = list(range(self.gpus))
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._finished: collections.deque[str] = collections.deque()
        self._jobdefs: dict[str, list[dict[str, Any]]] = {}
        self._scratch: set[str] = set()  # private TMPDIRs of attempts not yet cleaned up
        self._idle = threading.Condition()
        self._attempts_running = 0
        self.ledger = JobLedger(Path(ledger_dir)) if ledger_dir is not None else None
        if self.ledger is not None:
            self.ledger.sweep()

        self.register_job_definition(
            jobDefinitionName=RUNNER_JOB_DEFINITION,
            type="container",
            containerProperties={
                "image": RUNNER_IMAGE,
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"},
                    {"type": "MEMORY", "value": "1024"},
                ],
            },
        )

    # ---------------------------------------------------------------- job definitions (boto3)

    def register_job_definition(self, **kwargs: Any) -> dict[str, Any]:
        name = kwargs.get("jobDefinitionName")
        if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}", str(name)):
            raise BatchClientError(f"invalid jobDefinitionName {name!r}")
        jtype = kwargs.get("type", "container")
        if jtype != "container":
            raise BatchClientError(f"local Batch supports only type 'container', not {jtype!r}")
        with self._lock:
            revs = self._jobdefs.setdefault(name, [])
            revision = len(revs) + 1
            arn = f"{ARN_PREFIX}:job-definition/{name}:{revision}"
            jd: dict[str, Any] = {
                "jobDefinitionName": name,
                "jobDefinitionArn": arn,
                "revision": revision,
                "status": "ACTIVE",
                "type": jtype,
                "parameters": dict(kwargs.get("parameters") or {}),
                "containerProperties": copy.deepcopy(kwargs.get("containerProperties") or {}),
                "tags": dict(kwargs.get("tags") or {}),
                "platformCapabilities": list(kwargs.get("platformCapabilities") or ["EC2"]),
                "containerOrchestrationType": "ECS",
            }
            for key in ("retryStrategy", "timeout", "propagateTags", "schedulingPriority"):
                if key in kwargs:
                    jd[key] = copy.deepcopy(kwargs[key])
            revs.append(jd)
        return {"jobDefinitionName": name, "jobDefinitionArn": arn, "revision": revision}

    def deregister_job_definition(self, **kwargs: Any) -> dict[str, Any]:
        jd = self._find_jobdef(str(kwargs.get("jobDefinition", "")), active_only=False)
        if jd is None:
            raise BatchClientError(f"job definition {kwargs.get('jobDefinition')!r} not found")
        with self._lock:
            jd["status"] = "INACTIVE"
        return {}

    def describe_job_definitions(self, **kwargs: Any) -> dict[str, Any]:
        status = kwargs.get("status")
        name = kwargs.get("jobDefinitionName")
        wanted = kwargs.get("jobDefinitions")
        with self._lock:
            if wanted:
                found = []
                for ref in wanted:
                    jd = self._find_jobdef_locked(str(ref), active_only=False, latest=False)
                    if jd is not None:
                        found.extend(jd if isinstance(jd, list) else [jd])
            else:
                found = [jd for revs in self._jobdefs.values() for jd in revs]
            if name:
                found = [jd for jd in found if jd["jobDefinitionName"] == name]
            if status:
                found = [jd for jd in found if jd["status"] == status]
            return {"jobDefinitions": copy.deepcopy(found)}

    def _find_jobdef(self, ref: str, *, active_only: bool = True) -> dict[str, Any] | None:
        with self._lock:
            jd = self._find_jobdef_locked(ref, active_only=active_only, latest=True)
            assert not isinstance(jd, list)
        if jd is None and self._shared_registrations(ref):
            return self._find_jobdef(ref, active_only=active_only)
        return jd

    def _shared_registrations(self, ref: str) -> bool:
        """Adopt a definition registered by a runner job in another process (see jobdefs.py)."""
        if self.registry is None:
            return False
        name = ref.split(":job-definition/", 1)[-1].partition(":")[0]
        request = self.registry.request(name)
        with self._lock:
            known = name in self._jobdefs
        if request is None or known:
            return False
        self.register_job_definition(**request)
        return True

    def _find_jobdef_locked(
        self, ref: str, *, active_only: bool, latest: bool
    ) -> dict[str, Any] | list[dict[str, Any]] | None:
        """name (latest ACTIVE revision), name:revision, or an ARN ending job-definition/name:rev.
        With latest=False, a bare name yields every revision."""
        if ref.startswith("arn:"):
            ref = ref.split(":job-definition/", 1)[-1]
        name, _, rev = ref.partition(":")
        revs = self._jobdefs.get(name, [])
        if rev:
            if not rev.isdigit() or not 1 <= int(rev) <= len(revs):
                return None
            jd = revs[int(rev) - 1]
            return None if active_only and jd["status"] != "ACTIVE" else jd
        candidates = [jd for jd in revs if jd["status"] == "ACTIVE" or not active_only]
        if not latest:
            return candidates
        active = [jd for jd in revs if jd["status"] == "ACTIVE"]
        return active[-1] if active else None

    # ---------------------------------------------------------------- jobs (boto3-shaped reads)

    def describe_jobs(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            jobs = [self._jobs[j] for j in kwargs.get("jobs", []) if j in self._jobs]
        out = []
        for job in jobs:
            with job.lock:
                out.append(copy.deepcopy(job.desc))
        return {"jobs": out}

    def list_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """boto3-shaped ListJobs: optional jobQueue (name or ARN) and jobStatus filters."""
        queue = kwargs.get("jobQueue")
        status = kwargs.get("jobStatus")
        with self._lock:
            jobs = list(self._jobs.values())
        summaries = []
        for job in jobs:
            with job.lock:
                d = job.desc
                if queue and d["jobQueue"].rsplit("/", 1)[-1] != str(queue).rsplit("/", 1)[-1]:
                    continue
                if status and d["status"] != status:
                    continue
                summary = {k: d[k] for k in ("jobArn", "jobId", "jobName", "createdAt", "status")}
                for k in ("statusReason", "startedAt", "stoppedAt", "jobDefinition"):
                    if k in d:
                        summary[k] = d[k]
                summaries.append(summary)
        return {"jobSummaryList": summaries}

    def terminate_job(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(str(kwargs.get("jobId")))
        if job is None:
            raise BatchClientError(f"job {kwargs.get('jobId')!r} not found")
        job.terminate_reason = str(kwargs.get("reason") or "Job terminated")
        job.terminate.set()
        return {}

    def shutdown(self) -> None:
        """Kill every running job's process group; jobs still waiting for resources fail."""
        self._closed.set()
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if job.desc.get("status") in ("SUCCEEDED", "FAILED"):
                continue
            job.terminate_reason = job.terminate_reason or REASON_SHUTDOWN
            job.terminate.set()
            proc = job.proc
            if proc is not None:
                self._signal_group(job, signal.SIGKILL, container=True)
        with self._cond:
            self._cond.notify_all()
        self._wait_for_attempts(SHUTDOWN_WAIT_SECONDS)
        with self._lock:
            left = list(self._scratch)
        for scratch in left:  # an attempt thread that did not get to its own clean-up
            self._drop_scratch(scratch)

    def _wait_for_attempts(self, timeout: float) -> None:
        """Wait until every killed attempt's thread has cleaned up after it (the process may
        exit right after shutdown, and daemon threads die with it)."""
        with self._idle:
            self._idle.wait_for(lambda: self._attempts_running == 0, timeout=timeout)

    # ---------------------------------------------------------------- submitJob.sync

    def submit_job_sync(
        self,
        params: dict[str, Any],
        abort: threading.Event,
        on_submitted: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Run one job to its end. Returns the job description (Step Functions' PascalCase
        DescribeJobs shape) if it SUCCEEDED; raises TaskFailure("States.TaskFailed", json) if it
        FAILED, TaskFailure("Batch.ClientException", ...) if the request is invalid.
        on_submitted gets SubmitJob's response once the job is queued (TaskSubmitted)."""
        if self._closed.is_set():
            raise _client_exception("the local Batch scheduler has been shut down")
        req = to_camel_case(params)
        job, need, command, env = self._prepare(req)
        with self._lock:
            self._jobs[job.desc["jobId"]] = job
        try:
            if on_submitted is not None:
                on_submitted({f"Job{k}": job.desc[f"job{k}"] for k in ("Arn", "Id", "Name")})
            self._run(job, need, command, env, abort)
        finally:
            if job.desc["status"] not in ("SUCCEEDED", "FAILED"):  # unexpected error
                self._finish(job, "FAILED", job.desc.get("statusReason") or "Internal error")
        described = self.describe_jobs(jobs=[job.desc["jobId"]])["jobs"][0]
        self._forget_old_jobs(job.desc["jobId"])
        # Step Functions' output: PascalCase keys, in the (sorted) order it serializes them
        result = json.loads(json.dumps(to_pascal_case(described), sort_keys=True))
        if result["Status"] == "SUCCEEDED":
            return result  # type: ignore[no-any-return]
        raise task_failure(
            "States.TaskFailed", json.dumps(result, sort_keys=True, separators=(",", ":"))
        )

    def _forget_old_jobs(self, finished: str) -> None:
        """Keep the last KEEP_FINISHED finished jobs describable, as Batch keeps recent jobs;
        forgetting older ones keeps memory flat over a 100,000-job run."""
        with self._lock:
            self._finished.append(finished)
            while len(self._finished) > KEEP_FINISHED:
                self._jobs.pop(self._finished.popleft(), None)

    def _prepare(self, req: dict[str, Any]) -> tuple[_Job, _Need, list[str], dict[str, str]]:
        for key in ("jobName", "jobQueue", "jobDefinition"):
            if not isinstance(req.get(key), str) or not req[key]:
                raise _client_exception(f"SubmitJob: {key[0].upper() + key[1:]} is required")
        name = req["jobName"]
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}", name):
            raise _client_exception(
                f"SubmitJob: JobName {name!r} is invalid (up to 128 letters, numbers, hyphens "
                f"and underscores, starting with a letter or number)"
            )
        if req.get("arrayProperties"):
            raise _client_exception("SubmitJob: array jobs are not supported by the local Batch")
        if req.get("dependsOn"):
            raise _client_exception("SubmitJob: DependsOn is not supported by the local Batch")
        queue = req["jobQueue"].rsplit("/", 1)[-1]
        if queue not in self.queues:
            raise _client_exception(
                f"SubmitJob: job queue {req['jobQueue']!r} not found (local Batch queues: "
                f"{', '.join(sorted(self.queues))})"
            )
        jd = self._find_jobdef(req["jobDefinition"])
        if jd is None:
            raise _client_exception(
                f"SubmitJob: job definition {req['jobDefinition']!r} not found or not ACTIVE"
            )
        props = jd.get("containerProperties") or {}
        overrides = req.get("containerOverrides") or {}

        command = overrides.get("command", props.get("command"))
        if not command or not isinstance(command, list):
            raise _client_exception("SubmitJob: no Command in ContainerOverrides or job definition")
        if not all(isinstance(c, str) for c in command):
            raise _client_exception("SubmitJob: Command must be a list of strings")
        parameters = {**(jd.get("parameters") or {}), **(req.get("parameters") or {})}
        command = [
            str(parameters[c[5:]]) if c.startswith("Ref::") and c[5:] in parameters else c
            for c in command
        ]

        environment: dict[str, str] = {}
        for source in (props.get("environment") or [], overrides.get("environment") or []):
            for item in source:
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    raise _client_exception("SubmitJob: Environment entries need a Name")
                if item["name"].startswith("AWS_BATCH"):
                    raise _client_exception(
                        f"SubmitJob: environment variable {item['name']!r}: names starting with "
                        f"AWS_BATCH are reserved"
                    )
                environment[item["name"]] = str(item.get("value", ""))
        # Step Functions adds this to every job it starts with .sync
        environment["MANAGED_BY_AWS"] = "STARTED_BY_STEP_FUNCTIONS"

        resources: dict[str, str] = {}
        if "vcpus" in props:
            resources["VCPU"] = str(props["vcpus"])
        if "memory" in props:
            resources["MEMORY"] = str(props["memory"])
        for source in (
            props.get("resourceRequirements") or [],
            overrides.get("resourceRequirements") or [],
        ):
            for item in source:
                rtype, value = item.get("type"), item.get("value")
                if rtype not in ("VCPU", "MEMORY", "GPU"):
                    raise _client_exception(f"SubmitJob: unsupported resource type {rtype!r}")
                if not isinstance(value, str):
                    raise _client_exception(
                        f"SubmitJob: ResourceRequirements {rtype} Value must be a string, "
                        f"not {value!r}"
                    )
                resources[rtype] = value
        need = self._parse_need(resources)

        retry = req.get("retryStrategy", jd.get("retryStrategy")) or {}
        attempts = retry.get("attempts", 1)
        if not isinstance(attempts, int) or not 1 <= attempts <= 10:
            raise _client_exception(
                f"SubmitJob: RetryStrategy Attempts must be an integer from 1 to 10, "
                f"not {attempts!r}"
            )
        rules = retry.get("evaluateOnExit") or []
        if len(rules) > 5:
            raise _client_exception("SubmitJob: RetryStrategy allows at most 5 EvaluateOnExit")
        for rule in rules:
            if str(rule.get("action", "")).upper() not in ("RETRY", "EXIT"):
                raise _client_exception(
                    f"SubmitJob: EvaluateOnExit Action must be RETRY or EXIT: {rule!r}"
                )
        timeout = req.get("timeout", jd.get("timeout")) or {}
        duration = timeout.get("attemptDurationSeconds")
        if duration is not None and (not isinstance(duration, int | float) or duration <= 0):
            raise _client_exception(
                f"SubmitJob: invalid Timeout AttemptDurationSeconds {duration!r}"
            )

        job_id = str(uuid.uuid4())
        image = props.get("image")
        if self.runtime != "host" and not image:
            raise _client_exception(
                f"SubmitJob: job definition {jd['jobDefinitionArn']} has no image"
            )
        desc: dict[str, Any] = {
            "jobArn": f"{ARN_PREFIX}:job/{job_id}",
            "jobName": name,
            "jobId": job_id,
            "jobQueue": self.queues[queue],
            "status": "SUBMITTED",
            "attempts": [],
            "createdAt": _now_ms(),
            "retryStrategy": {"attempts": attempts, **({"evaluateOnExit": rules} if rules else {})},
            "dependsOn": [],
            "jobDefinition": jd["jobDefinitionArn"],
            "parameters": parameters,
            "container": {
                "image": image or "",
                "command": command,
                "volumes": copy.deepcopy(props.get("volumes") or []),
                "environment": [{"name": k, "value": v} for k, v in environment.items()],
                "mountPoints": copy.deepcopy(props.get("mountPoints") or []),
                "ulimits": [],
                "resourceRequirements": [{"type": t, "value": v} for t, v in resources.items()],
                "networkInterfaces": [],
            },
            "tags": {**(jd.get("tags") or {}), **(req.get("tags") or {})},
            "propagateTags": bool(req.get("propagateTags", jd.get("propagateTags", False))),
            "platformCapabilities": list(jd.get("platformCapabilities") or ["EC2"]),
        }
        if duration is not None:
            desc["timeout"] = {"attemptDurationSeconds": duration}
        return _Job(desc), need, command, environment

    @staticmethod
    def _parse_need(resources: Mapping[str, str]) -> _Need:
        try:
            vcpus = float(resources.get("VCPU", "1"))
        except ValueError:
            raise _client_exception(
                f"SubmitJob: VCPU {resources['VCPU']!r} is not a number"
            ) from None
        if not math.isfinite(vcpus) or vcpus <= 0:
            raise _client_exception(f"SubmitJob: VCPU must be positive, not {resources['VCPU']!r}")
        ints = {}
        for rtype in ("MEMORY", "GPU"):
            value = resources.get(rtype, "0")
            if not value.isdigit():
                raise _client_exception(
                    f"SubmitJob: {rtype} must be a whole number written as a string, not {value!r}"
                )
            ints[rtype] = int(value)
        return _Need(vcpus=vcpus, memory=ints["MEMORY"], gpus=ints["GPU"])

    # ---------------------------------------------------------------- the job's life

    def _finish(self, job: _Job, status: str, reason: str) -> None:
        with job.lock:
            job.desc["status"] = status
            job.desc["statusReason"] = reason
            job.desc["stoppedAt"] = _now_ms()

    def _stop_reason(self, job: _Job, abort: threading.Event) -> str | None:
        if abort.is_set():
            return REASON_ABORTED
        if job.terminate.is_set():
            return job.terminate_reason or REASON_SHUTDOWN
        if self._closed.is_set():
            return REASON_SHUTDOWN
        return None

    def _run(
        self,
        job: _Job,
        need: _Need,
        command: list[str],
        env: dict[str, str],
        abort: threading.Event,
    ) -> None:
        name = job.desc["jobName"]
        log_path = self.log_dir / f"{job.desc['jobId']}.log"
        log_path.touch()
        with job.lock:
            job.desc["container"]["logStreamName"] = str(log_path)

        never = self._never_fits(need)
        if never and self.clamp_to_machine:
            clamped = _Need(
                vcpus=min(need.vcpus, self.cpus),
                memory=min(need.memory, self.memory_mib),
                gpus=min(need.gpus, self.gpus) if self.gpus else need.gpus,
            )
            msg = (
                f"WARNING: job {name} requests {need.describe()}, more than this machine has: "
                f"running it with {clamped.describe()}"
            )
            log.warning("local Batch: %s", msg[len("WARNING: ") :])
            self._note(log_path, msg)
            need, never = clamped, None
        if never:
            self._finish(job, "FAILED", never)
            log.error("local Batch job %s: %s", name, never)
            return
        gpu_warning = None
        if need.gpus and not self.gpus:
            gpu_warning = (
                f"job {name} requests {need.gpus} GPU but this machine has none (no nvidia-smi "
                f"GPUs found): running it anyway without a GPU"
            )

        max_attempts = job.desc["retryStrategy"]["attempts"]
        rules = job.desc["retryStrategy"].get("evaluateOnExit") or []
        attempt = 0
        while True:
            attempt += 1
            with job.lock:
                job.desc["status"] = "RUNNABLE"
            gpu_ids = self._acquire(job, need, abort)
            if gpu_ids is None:  # stopped while waiting: no attempt
                self._finish(job, "FAILED", self._stop_reason(job, abort) or REASON_ABORTED)
                return
            scratch: str | None = None
            with self._idle:
                self._attempts_running += 1
            try:
                if gpu_warning:
                    log.warning("local Batch: %s", gpu_warning)
                    self._note(log_path, f"WARNING: {gpu_warning}")
                if attempt > 1:
                    self._note(log_path, f"attempt {attempt} of {max_attempts}")
                scratch = job.scratch = self._private_tmpdir(job)
                attempt_env = {**env, "TMPDIR": scratch} if scratch else env
                result = self._attempt(job, attempt, command, attempt_env, gpu_ids, log_path, abort)
            finally:
                self._release(need, gpu_ids)
                if scratch:
                    self._drop_scratch(scratch)
                with self._idle:
                    self._attempts_running -= 1
                    self._idle.notify_all()

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
            record["stoppedAt"] = result.stopped_at or _now_ms()
            with job.lock:
                job.desc["attempts"].append(record)
                container = job.desc["container"]
                container.pop("exitCode", None)
                container.pop("reason", None)
                if result.exit_code is not None:
                    container["exitCode"] = result.exit_code
                if result.reason:
                    container["reason"] = result.reason
                if result.started_at is not None:
                    job.desc["startedAt"] = result.started_at

            if result.exit_code == 0 and not result.terminal:
                self._finish(job, "SUCCEEDED", result.status_reason)
                return
            if result.terminal or attempt >= max_attempts or self._stop_reason(job, abort):
                self._finish(job, "FAILED", result.status_reason)
                return
            action = evaluate_on_exit(
                rules,
                status_reason=result.status_reason,
                reason=result.reason,
                exit_code=result.exit_code,
            )
            if action == "EXIT":
                self._finish(job, "FAILED", result.status_reason)
                return
            log.info(
                "local Batch job %s attempt %d failed (%s, exit code %s): retrying",
                name,
                attempt,
                result.status_reason,
                result.exit_code,
            )

    def _never_fits(self, need: _Need) -> str | None:
        too_big = (
            need.vcpus > self.cpus + 1e-9
            or need.memory > self.memory_mib
            or (self.gpus > 0 and need.gpus > self.gpus)
        )
        if not too_big:
            return None
        have = _Need(self.cpus, self.memory_mib, self.gpus).describe()
        return (
            f"Job requests {need.describe()} but this machine (the local Batch) has {have}: "
            f"it can never run here"
        )

    def _acquire(self, job: _Job, need: _Need, abort: threading.Event) -> list[int] | None:
        gpus_needed = need.gpus if self.gpus else 0
        with self._cond:
            while True:
                if self._stop_reason(job, abort):
                    return None
                if (
                    need.vcpus <= self._free_cpus + 1e-9
                    and need.memory <= self._free_mem
                    and gpus_needed <= len(self._free_gpu_ids)
                ):
                    self._free_cpus -= need.vcpus
                    self._free_mem -= need.memory
                    ids = self._free_gpu_ids[:gpus_needed]
                    del self._free_gpu_ids[:gpus_needed]
                    return ids
                self._cond.wait(timeout=ADMISSION_RECHECK_SECONDS)

    def _release(self, need: _Need, gpu_ids: list[int]) -> None:
        with self._cond:
            self._free_cpus = min(self.cpus, self._free_cpus + need.vcpus)
            self._free_mem = min(self.memory_mib, self._free_mem + need.memory)
            self._free_gpu_ids = sorted(self._free_gpu_ids + gpu_ids)
            # wake a couple of waiters, not all: with hundreds queued, waking every one on each
            # release costs more (GIL hand-offs) than the jobs; the rest re-check periodically
            self._cond.notify(2)

    def _private_tmpdir(self, job: _Job) -> str | None:
        """On the host, each attempt gets a TMPDIR of its own, as a container has its own /tmp;
        it is removed on every exit path (the attempt's end, shutdown, the next run's sweep)."""
        if self.runtime != "host":
            return None
        scratch = tempfile.mkdtemp(prefix=f"wdl2sfn-job-{job.desc['jobId'][:8]}-")
        with self._lock:
            self._scratch.add(scratch)
        return scratch

    def _drop_scratch(self, scratch: str) -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        with self._lock:
            self._scratch.discard(scratch)

    @staticmethod
    def _note(log_path: Path, text: str) -> None:
        with open(log_path, "a") as f:
            f.write(f"{_LOG_PREFIX} {text}\n")

    def container_argv(
        self,
        job: Mapping[str, Any],
        attempt: int,
        command: Sequence[str],
        env_names: Iterable[str],
        gpu_ids: Sequence[int],
    ) -> list[str]:
        """The `docker run` / `podman run` command line for one attempt (runtime != host).
        Environment values are passed by name only (-e NAME) and read from the client's
        environment, so they never appear on a command line."""
        assert self.runtime_exe
        container = job["container"]
        argv = [
            self.runtime_exe,
            "run",
            "--rm",
            "--name",
            f"wdl2sfn-{job['jobId']}-{attempt}",
        ]
        for req in container.get("resourceRequirements", []):
            if req["type"] == "VCPU":
                argv += ["--cpus", req["value"]]
            elif req["type"] == "MEMORY" and int(req["value"]) > 0:
                argv += ["--memory", f"{int(req['value'])}m"]
        if gpu_ids:
            if self.runtime == "docker":
                argv += ["--gpus", "device=" + ",".join(str(i) for i in gpu_ids)]
            else:
                for i in gpu_ids:
                    argv += ["--device", f"nvidia.com/gpu={i}"]
        for name in env_names:
            argv += ["-e", name]
        if self.container_user:  # --as-me
            argv += ["--user", self.container_user]
        mounts: list[tuple[str, str, bool]] = [(m, m, False) for m in self.mounts]
        volumes = {v.get("name"): v for v in container.get("volumes", [])}
        for mp in container.get("mountPoints", []):
            vol = volumes.get(mp.get("sourceVolume"), {})
            src = (vol.get("host") or {}).get("sourcePath")
            if src and mp.get("containerPath"):
                mounts.append((src, mp["containerPath"], bool(mp.get("readOnly"))))
        for src, dst, ro in mounts:
            argv += ["-v", f"{src}:{dst}" + (":ro" if ro else "")]
        argv.append(container["image"])
        argv += list(command)
        return argv

    def _host_argv(
        self, job: _Job, command: list[str], log_path: Path
    ) -> list[str] | _AttemptResult:
        """The host command line, through the launcher if any; a launcher error is an attempt
        whose container could not start."""
        try:
            return self.launcher(job.desc, list(command)) if self.launcher else list(command)
        except Exception as e:
            self._note(log_path, f"CannotStartContainerError: {e}")
            now = _now_ms()
            return _AttemptResult(
                status_reason=REASON_START_FAILED, reason=str(e)[:255], started_at=now,
                stopped_at=now,
            )  # fmt: skip

    def _attempt(
        self,
        job: _Job,
        attempt: int,
        command: list[str],
        env: dict[str, str],
        gpu_ids: list[int],
        log_path: Path,
        abort: threading.Event,
    ) -> _AttemptResult:
        name = job.desc["jobName"]
        with job.lock:
            job.desc["status"] = "STARTING"
        queue = job.desc.get("jobQueue", "")
        fault = self.faults.match(name, attempt, queue) if self.faults else None
        if fault is not None and fault.after_seconds is None:
            now = _now_ms()
            self._note(log_path, f"fault injected: {fault.reason}")
            log.warning(
                "local Batch job %s attempt %d: injected fault: %s", name, attempt, fault.reason
            )
            return _AttemptResult(status_reason=fault.reason, started_at=now, stopped_at=now)

        proc_env = self._inherited_environment(job)
        job_env = dict(env)
        job_env["AWS_BATCH_JOB_ID"] = job.desc["jobId"]
        job_env["AWS_BATCH_JOB_ATTEMPT"] = str(attempt)
        job_env["AWS_BATCH_JQ_NAME"] = job.desc["jobQueue"].rsplit("/", 1)[-1]
        job_env["AWS_BATCH_CE_NAME"] = "wdl2sfn-local"
        if self.on_output is None:
            job_env["WDL2SFN_NO_TEE"] = "1"  # stderr.txt has it all; skip the tee process
        if gpu_ids:
            job_env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in gpu_ids)
        proc_env.update(job_env)
        if self.runtime == "host":
            launched = self._host_argv(job, command, log_path)
            if isinstance(launched, _AttemptResult):
                return launched
            argv = launched
        else:
            # inside the container `--gpus` renumbers the devices it exposes from 0: the host's
            # indexes in CUDA_VISIBLE_DEVICES would be wrong there
            container_env = [k for k in job_env if k != "CUDA_VISIBLE_DEVICES"]
            argv = self.container_argv(job.desc, attempt, command, container_env, gpu_ids)
            job.container_name = f"wdl2sfn-{job.desc['jobId']}-{attempt}"

        log_file = open(log_path, "ab")  # noqa: SIM115 - closed below
        reader: threading.Thread | None = None
        started = _now_ms()
        try:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.PIPE if self.on_output else subprocess.STDOUT,
                    env=proc_env,
                    start_new_session=True,
                )
            except OSError as e:
                msg = f"CannotStartContainerError: {e}"
                self._note(log_path, msg)
                return _AttemptResult(
                    status_reason=REASON_START_FAILED,
                    reason=msg[:255],
                    started_at=started,
                    stopped_at=_now_ms(),
                )
            job.proc = proc
            if self.ledger is not None:
                self.ledger.record(
                    f"{job.desc['jobId']}-{attempt}",
                    proc.pid,
                    scratch=job.scratch,
                    container=self._kill_argv(job),
                )
            with job.lock:
                job.desc["status"] = "RUNNING"
            if self.on_output and proc.stderr is not None:
                reader = threading.Thread(
                    target=self._pump_stderr,
                    args=(name, proc.stderr, log_file),
                    daemon=True,
                    name=f"stderr-{name}",
                )
                reader.start()
            log.debug("local Batch job %s attempt %d started: pid %d", name, attempt, proc.pid)

            duration = job.desc.get("timeout", {}).get("attemptDurationSeconds")
            deadline = time.monotonic() + duration if duration else None
            fault_at = (
                time.monotonic() + fault.after_seconds
                if fault is not None and fault.after_seconds is not None
                else None
            )
            stop: tuple[str, bool, bool] | None = None  # (reason, terminal, keep exit code)
            exited = _exit_watcher(proc)
            poll = 0.005
            while not exited.is_set():
                stop_reason = self._stop_reason(job, abort)
                if stop_reason:
                    stop = (stop_reason, True, True)
                elif deadline is not None and time.monotonic() >= deadline:
                    stop = (REASON_TIMEOUT, True, True)
                elif fault is not None and fault_at is not None and time.monotonic() >= fault_at:
                    stop = (fault.reason, False, False)
                if stop:
                    self._note(log_path, f"terminating attempt {attempt}: {stop[0]}")
                    self._kill(job, proc, graceful=stop[1])
                    break
                exited.wait(poll)  # wakes the moment the process exits
                poll = min(0.1, poll * 1.5)
            if stop is None and self._stop_reason(job, abort):
                # killed from outside the loop (shutdown, terminate_job) before it noticed
                stop = (self._stop_reason(job, abort) or REASON_SHUTDOWN, True, True)
            # the main process has exited (not yet reaped): a container's exit ends everything
            # left in it, so kill the rest of the process group before reaping
            self._signal_group(job, signal.SIGKILL)
            rc = proc.wait()
            if reader is not None:
                reader.join(timeout=5)
            stopped = _now_ms()
            exit_code = 128 - rc if rc < 0 else rc  # killed by signal N -> 128+N, as a shell/docker
            if stop is None:
                return _AttemptResult(
                    status_reason=REASON_EXITED,
                    exit_code=exit_code,
                    started_at=started,
                    stopped_at=stopped,
                )
            return _AttemptResult(
                status_reason=stop[0],
                exit_code=exit_code if stop[2] else None,
                terminal=stop[1],
                started_at=started,
                stopped_at=stopped,
            )
        finally:
            if job.proc is not None and self.ledger is not None:
                self.ledger.forget(f"{job.desc['jobId']}-{attempt}")
            job.proc = None
            log_file.close()

    def _inherited_environment(self, job: _Job) -> dict[str, str]:
        """This process's environment for a job, as a host process inherits it -- minus the
        secrets only the run-time steps may hold (the call cache's sealing key): a task's
        command never sees them; a runner job (the steps themselves) does."""
        if job.desc.get("container", {}).get("image") == RUNNER_IMAGE:
            return dict(os.environ)
        return {k: v for k, v in os.environ.items() if k not in STEP_SECRETS}

    def _kill_argv(self, job: _Job) -> list[str]:
        """The command that kills this attempt's container ([] on the host)."""
        if self.runtime == "host" or not job.container_name or not self.runtime_exe:
            return []
        return [self.runtime_exe, "kill", job.container_name]

    def _pump_stderr(self, name: str, stream: Any, log_file: Any) -> None:
        assert self.on_output is not None
        for raw in iter(stream.readline, b""):
            try:
                log_file.write(raw)
                log_file.flush()
            except ValueError:  # closed
                pass
            try:
                self.on_output(name, raw.decode("utf-8", "replace").rstrip("\r\n"))
            except Exception:  # a display callback must never kill the job
                log.exception("on_output callback failed")
        stream.close()

    @staticmethod
    def _exited(proc: subprocess.Popen[bytes]) -> bool:
        """Has the process exited? Does not reap it, so its pid (= the process group id) cannot
        be reused before we have killed the rest of the group."""
        if hasattr(os, "waitid"):
            try:
                info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return True
            return info is not None
        return proc.poll() is not None  # pragma: no cover - platforms without waitid

    def _signal_group(self, job: _Job, sig: int, *, container: bool = False) -> None:
        proc = job.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        if container and self.runtime != "host" and job.container_name:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                assert self.runtime_exe
                subprocess.run(
                    [self.runtime_exe, "kill", job.container_name],
                    capture_output=True,
                    timeout=15,
                )

    def _kill(self, job: _Job, proc: subprocess.Popen[bytes], *, graceful: bool) -> None:
        """SIGTERM the job's process group, SIGKILL it after the grace period."""
        if graceful:
            self._signal_group(job, signal.SIGTERM)
            deadline = time.monotonic() + self.kill_grace_seconds
            while time.monotonic() < deadline and not self._exited(proc):
                time.sleep(0.02)
        self._signal_group(job, signal.SIGKILL, container=True)
