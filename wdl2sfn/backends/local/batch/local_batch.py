"""LocalBatch: the job API (boto3- and Step Functions-shaped) and each job's life, from
SubmitJob to SUCCEEDED or FAILED, over the parts that decide what runs when (admission.py),
how an attempt runs (attempt.py, launch.py), and what follows it (retries.py)."""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from wdl2sfn.backends.local.orphans import JobLedger

from .admission import Admission, Need, detect_gpus, detect_memory_mib
from .api import (
    ARN_PREFIX,
    DEFAULT_QUEUES,
    REASON_ABORTED,
    REASON_SHUTDOWN,
    RUNNER_IMAGE,
    RUNNER_JOB_DEFINITION,
    BatchClientError,
    client_exception,
    task_failure,
    to_camel_case,
    to_pascal_case,
)
from .attempt import run_attempt
from .definitions import JobDefinitions
from .faults import FaultPlan, FaultRule
from .launch import (
    ContainerSetupHook,
    ProcessLauncher,
    ScratchDirs,
    note,
    runtime_executable,
)
from .records import AttemptResult, Job, JobTable
from .retries import after_attempt
from .submit import Submission, parse_submission

log = logging.getLogger(__name__)

#: (job description, need) -> None, or (statusReason, seconds until the queue cancels it)
Placement = Callable[[dict[str, Any], Need], tuple[str, float | None] | None]
SHUTDOWN_WAIT_SECONDS = 15.0  # shutdown waits this long for killed attempts to clean up


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
    launcher: on the host, wraps each attempt's command (the AWS rehearsal's sandbox); an
    exception it raises fails the attempt as a container that cannot start.
    container_setup: with docker/podman, each job's container as the caller sets it up from its
    own job definition (the AWS rehearsal: mounts, role keys, user, ulimits); None from it runs
    that job on the host through `launcher` (the rehearsal's runner jobs).
    placement: (job description, need) -> None if some compute environment can place the job,
    else (statusReason, seconds): it stays RUNNABLE with that reason, then FAILS with it after
    the seconds (its queue's jobStateTimeLimitActions), or never if None (the AWS rehearsal).
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
        container_setup: ContainerSetupHook | None = None,
        placement: Placement | None = None,
    ) -> None:
        self.runtime = runtime
        runtime_exe = runtime_executable(runtime)
        self.cpus = float(cpus if cpus is not None else (os.cpu_count() or 1))
        self.memory_mib = int(memory_mib if memory_mib is not None else detect_memory_mib())
        self.gpus = int(gpus if gpus is not None else detect_gpus())
        self.admission = Admission(self.cpus, self.memory_mib, self.gpus)
        if log_dir is None:
            log_dir = Path(tempfile.mkdtemp(prefix="wdl2sfn-batch-logs-"))
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.faults = faults
        self.queues = {q: f"{ARN_PREFIX}:job-queue/{q}" for q in queues}
        self.clamp_to_machine = clamp_to_machine
        self.placement = placement
        self.definitions = JobDefinitions(registry_dir)
        ledger = JobLedger(Path(ledger_dir)) if ledger_dir is not None else None
        if ledger is not None:
            ledger.sweep()
        self.launch = ProcessLauncher(
            runtime=runtime,
            runtime_exe=runtime_exe,
            mounts=tuple(str(Path(m).resolve()) for m in mounts),
            host_wrapper=launcher,
            container_setup=container_setup,
            on_output=on_output,
            ledger=ledger,
            kill_grace_seconds=float(kill_grace_seconds),
        )
        self._closed = threading.Event()
        self._jobs = JobTable()
        self._scratch = ScratchDirs()  # private TMPDIRs of attempts not yet cleaned up
        self._idle = threading.Condition()
        self._attempts_running = 0
        self._register_runner()

    # ---------------------------------------------------------------- settings read at run time

    @property
    def runtime_exe(self) -> str | None:
        return self.launch.runtime_exe

    @runtime_exe.setter
    def runtime_exe(self, value: str | None) -> None:
        self.launch.runtime_exe = value

    @property
    def container_user(self) -> str | None:
        """uid:gid for containers (run --as-me)."""
        return self.launch.container_user

    @container_user.setter
    def container_user(self, value: str | None) -> None:
        self.launch.container_user = value

    def container_argv(
        self,
        job: Mapping[str, Any],
        attempt: int,
        command: Sequence[str],
        env_names: Iterable[str],
        gpu_ids: Sequence[int],
    ) -> list[str]:
        """The `docker run` / `podman run` command line for one attempt (see launch.py)."""
        return self.launch.container_argv(job, attempt, command, env_names, gpu_ids)

    # ---------------------------------------------------------------- job definitions (boto3)

    def register_job_definition(self, **kwargs: Any) -> dict[str, Any]:
        return self.definitions.register(**kwargs)

    def deregister_job_definition(self, **kwargs: Any) -> dict[str, Any]:
        return self.definitions.deregister(**kwargs)

    def describe_job_definitions(self, **kwargs: Any) -> dict[str, Any]:
        return self.definitions.describe(**kwargs)

    def _register_runner(self) -> None:
        """The runner job definition (revision 1): the steps run as a job (Prepare, Collect)."""
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

    # ---------------------------------------------------------------- jobs (boto3-shaped)

    def describe_jobs(self, **kwargs: Any) -> dict[str, Any]:
        jobs = [self._jobs.get(j) for j in kwargs.get("jobs", [])]
        out = []
        for job in jobs:
            if job is not None:
                with job.lock:
                    out.append(copy.deepcopy(job.desc))
        return {"jobs": out}

    def list_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """boto3-shaped ListJobs: optional jobQueue (name or ARN) and jobStatus filters."""
        queue = kwargs.get("jobQueue")
        status = kwargs.get("jobStatus")
        summaries = []
        for job in self._jobs.all():
            with job.lock:
                d = job.desc
                if queue and d["jobQueue"].rsplit("/", 1)[-1] != str(queue).rsplit("/", 1)[-1]:
                    continue
                if status and d["status"] != status:
                    continue
                summaries.append(job.summary())
        return {"jobSummaryList": summaries}

    def terminate_job(self, **kwargs: Any) -> dict[str, Any]:
        job = self._jobs.get(str(kwargs.get("jobId")))
        if job is None:
            raise BatchClientError(f"job {kwargs.get('jobId')!r} not found")
        job.terminate_reason = str(kwargs.get("reason") or "Job terminated")
        job.terminate.set()
        return {}

    def shutdown(self) -> None:
        """Kill every running job's process group; jobs still waiting for resources fail."""
        self._closed.set()
        for job in self._jobs.all():
            if job.finished:
                continue
            job.terminate_reason = job.terminate_reason or REASON_SHUTDOWN
            job.terminate.set()
            self.launch.signal_group(job, signal.SIGKILL, container=True)
        self.admission.wake_all()
        self._wait_for_attempts(SHUTDOWN_WAIT_SECONDS)
        self.launch.daemons.sweep()  # daemons of the last attempts, before this process exits
        self._scratch.drop_all()  # idle ones, those attempt threads did not get to clean up
        if self.launch.ledger is not None and self._attempts_running == 0:
            self.launch.ledger.close()  # nothing of ours left running: no journal to keep

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
            raise client_exception("the local Batch scheduler has been shut down")
        submission = parse_submission(
            to_camel_case(params), self.queues, self.definitions.find, self.runtime == "host"
        )
        job = submission.job
        self._jobs.add(job)
        try:
            if on_submitted is not None:
                on_submitted({f"Job{k}": job.desc[f"job{k}"] for k in ("Arn", "Id", "Name")})
            self._run(submission, abort)
        finally:
            if not job.finished:  # unexpected error
                job.finish("FAILED", job.desc.get("statusReason") or "Internal error")
        described = self.describe_jobs(jobs=[job.desc["jobId"]])["jobs"][0]
        self._jobs.forget_old(job.desc["jobId"])
        # Step Functions' output: PascalCase keys, in the (sorted) order it serializes them
        result = json.loads(json.dumps(to_pascal_case(described), sort_keys=True))
        if result["Status"] == "SUCCEEDED":
            return result  # type: ignore[no-any-return]
        raise task_failure(
            "States.TaskFailed", json.dumps(result, sort_keys=True, separators=(",", ":"))
        )

    # ---------------------------------------------------------------- the job's life

    def _stop_reason(self, job: Job, abort: threading.Event) -> str | None:
        if abort.is_set():
            return REASON_ABORTED
        if job.terminate.is_set():
            return job.terminate_reason or REASON_SHUTDOWN
        if self._closed.is_set():
            return REASON_SHUTDOWN
        return None

    def _run(self, submission: Submission, abort: threading.Event) -> None:
        """Attempts until one succeeds or the retry strategy says FAILED."""
        job = submission.job
        log_path = self.log_dir / f"{job.desc['jobId']}.log"
        log_path.touch()
        with job.lock:
            job.desc["container"]["logStreamName"] = str(log_path)
        if self._never_placed(job, submission.need, abort):
            return
        need = self._admissible(job, submission.need, log_path)
        if need is None:
            return
        attempt = 0
        while True:
            attempt += 1
            job.set_status("RUNNABLE")
            result = self._admitted_attempt(submission, need, attempt, log_path, abort)
            if result is None:  # stopped while waiting: no attempt
                job.finish("FAILED", self._stop_reason(job, abort) or REASON_ABORTED)
                return
            job.record_attempt(result, log_path)
            stopped = self._stop_reason(job, abort) is not None
            step = after_attempt(result, attempt, job.desc["retryStrategy"], stopped)
            if step != "RETRY":
                job.finish(step, result.status_reason)
                return
            log.info(
                "local Batch job %s attempt %d failed (%s, exit code %s): retrying",
                job.desc["jobName"],
                attempt,
                result.status_reason,
                result.exit_code,
            )

    def _never_placed(self, job: Job, need: Need, abort: threading.Event) -> bool:
        """True (the job has FAILED) if ``placement`` says no compute environment can ever run
        it: as on AWS it stays RUNNABLE with that statusReason until the queue's time-limit
        action cancels it, or it is stopped."""
        found = self.placement(job.desc, need) if self.placement is not None else None
        if found is None:
            return False
        reason, seconds = found
        with job.lock:
            job.desc["status"], job.desc["statusReason"] = "RUNNABLE", reason
        log.info("local Batch job %s stays RUNNABLE: %s", job.desc["jobName"], reason)
        deadline = None if seconds is None else time.monotonic() + seconds
        while deadline is None or time.monotonic() < deadline:
            stopped = self._stop_reason(job, abort)
            if stopped:
                job.finish("FAILED", stopped)
                return True
            time.sleep(0.2)
        job.finish("FAILED", reason)
        return True

    def _admissible(self, job: Job, need: Need, log_path: Path) -> Need | None:
        """What the job will hold while it runs: `need`, or what this machine has if it asks
        more and clamp_to_machine is set; None (the job FAILED) if it can never run here."""
        name = job.desc["jobName"]
        never = self.admission.never_fits(need)
        if never and self.clamp_to_machine:
            clamped = self.admission.clamp(need)
            msg = (
                f"WARNING: job {name} requests {need.describe()}, more than this machine has: "
                f"running it with {clamped.describe()}"
            )
            log.warning("local Batch: %s", msg[len("WARNING: ") :])
            note(log_path, msg)
            return clamped
        if never:
            job.finish("FAILED", never)  # the call's failure says why: not twice on stderr
            log.info("local Batch job %s: %s", name, never)
            return None
        return need

    def _admitted_attempt(
        self,
        submission: Submission,
        need: Need,
        attempt: int,
        log_path: Path,
        abort: threading.Event,
    ) -> AttemptResult | None:
        """One attempt once admitted (None if the job is stopped while it waits), holding its
        resources and a private TMPDIR until it ends."""
        job = submission.job

        def stopped() -> str | None:
            return self._stop_reason(job, abort)

        gpu_ids = self.admission.acquire(need, stopped)
        if gpu_ids is None:
            return None
        scratch: str | None = None
        with self._idle:
            self._attempts_running += 1
        try:
            self._note_attempt(job, need, attempt, log_path)
            scratch = job.scratch = self._scratch.make(job) if self.runtime == "host" else None
            env = submission.environment
            env = {**env, "TMPDIR": scratch} if scratch else env
            fault = self._fault(job, attempt)
            return run_attempt(
                self.launch,
                job,
                attempt,
                submission.command,
                env,
                gpu_ids,
                log_path,
                stopped,
                fault,
            )
        finally:
            self.admission.release(need, gpu_ids)
            if scratch:
                self._scratch.drop(scratch)
            with self._idle:
                self._attempts_running -= 1
                self._idle.notify_all()

    def _note_attempt(self, job: Job, need: Need, attempt: int, log_path: Path) -> None:
        """In the job's log: a GPU job running without one, and a retry's number."""
        if need.gpus and not self.gpus:
            warning = (
                f"job {job.desc['jobName']} requests {need.gpus} GPU but this machine has none "
                f"(no nvidia-smi GPUs found): running it anyway without a GPU"
            )
            log.warning("local Batch: %s", warning)
            note(log_path, f"WARNING: {warning}")
        if attempt > 1:
            note(log_path, f"attempt {attempt} of {job.desc['retryStrategy']['attempts']}")

    def _fault(self, job: Job, attempt: int) -> FaultRule | None:
        """The injected fault this attempt meets, if any."""
        if not self.faults:
            return None
        return self.faults.match(job.desc["jobName"], attempt, job.desc.get("jobQueue", ""))
