"""One attempt of a job, from STARTING to its end: launched, watched for a stop, a timeout or
an injected fault, and reaped with what is left of its process group."""

from __future__ import annotations

import logging
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from wdl2sfn.backends.local.daemons import marker

from .api import REASON_EXITED, REASON_START_FAILED, now_ms
from .faults import FaultRule
from .images import container_not_started
from .launch import ProcessLauncher, exit_watcher, inherited_environment, job_environment, note
from .records import AttemptResult, Job
from .retries import AttemptClock, Stop

log = logging.getLogger(__name__)

#: why the job is being stopped from outside (abort, terminate_job, shutdown), or None
StopReason = Callable[[], str | None]


def run_attempt(
    launcher: ProcessLauncher,
    job: Job,
    attempt: int,
    command: list[str],
    env: dict[str, str],
    gpu_ids: list[int],
    log_path: Path,
    stopped: StopReason,
    fault: FaultRule | None,
) -> AttemptResult:
    """Run attempt number `attempt` of `job` (its resources already admitted) to its end."""
    name = job.desc["jobName"]
    job.set_status("STARTING")
    if fault is not None and fault.after_seconds is None:
        note(log_path, f"fault injected: {fault.reason}")
        log.warning(
            "local Batch job %s attempt %d: injected fault: %s", name, attempt, fault.reason
        )
        return AttemptResult.not_started(fault.reason)
    job_env = job_environment(job.desc, attempt, env, gpu_ids, tee=launcher.on_output is not None)
    argv = launcher.argv(job, attempt, command, job_env, gpu_ids, log_path)
    if isinstance(argv, AttemptResult):
        return argv
    proc_env = {**inherited_environment(job.desc), **job_env, **marker(job.desc["jobId"], attempt)}
    clock = AttemptClock(job.desc.get("timeout", {}).get("attemptDurationSeconds"), fault)
    with open(log_path, "ab") as log_file:
        log_start = log_file.tell()
        started = now_ms()
        try:
            proc = launcher.start(job, attempt, argv, proc_env, log_file)
        except OSError as e:
            msg = f"CannotStartContainerError: {e}"
            note(log_path, msg)
            return AttemptResult(
                status_reason=REASON_START_FAILED,
                reason=msg[:255],
                started_at=started,
                stopped_at=now_ms(),
            )
        try:
            job.set_status("RUNNING")
            reader = launcher.pump(name, proc, log_file)
            log.debug("local Batch job %s attempt %d started: pid %d", name, attempt, proc.pid)
            stop = _watch(launcher, job, attempt, proc, log_path, stopped, clock)
            # the main process has exited (not yet reaped): a container's exit ends everything
            # left in it, so kill the rest of the process group before reaping
            launcher.signal_group(job, signal.SIGKILL)
            rc = proc.wait()
            if reader is not None:
                reader.join(timeout=5)
            if stop is None and launcher.runtime != "host":
                unstarted = container_not_started(rc, log_path, log_start)
                if unstarted is not None:
                    return AttemptResult.not_started(REASON_START_FAILED, unstarted)
            return _result(rc, stop, started)
        finally:
            launcher.forget(job, attempt)
            launcher.daemons.ended(job.desc["jobId"], attempt)  # what left its process group


def _watch(
    launcher: ProcessLauncher,
    job: Job,
    attempt: int,
    proc: subprocess.Popen[bytes],
    log_path: Path,
    stopped: StopReason,
    clock: AttemptClock,
) -> Stop | None:
    """Wait for the process to exit, or end it early: stopped from outside, timed out, or an
    injected fault's moment come. Returns why it was ended early, or None."""
    exited = exit_watcher(proc)
    poll = 0.005
    while not exited.is_set():
        reason = stopped()
        stop = Stop(reason, terminal=True) if reason else clock.due()
        if stop is not None:
            note(log_path, f"terminating attempt {attempt}: {stop.reason}")
            launcher.kill(job, proc, graceful=stop.terminal)
            return stop
        exited.wait(poll)  # wakes the moment the process exits
        poll = min(0.1, poll * 1.5)
    reason = stopped()
    if reason:  # killed from outside the loop (shutdown, terminate_job) before it noticed
        return Stop(reason, terminal=True)
    return None


def _result(rc: int, stop: Stop | None, started: int) -> AttemptResult:
    """The attempt's end from its return code and why it was stopped, if it was."""
    exit_code = 128 - rc if rc < 0 else rc  # killed by signal N -> 128+N, as a shell/docker
    if stop is None:
        return AttemptResult(
            status_reason=REASON_EXITED,
            exit_code=exit_code,
            started_at=started,
            stopped_at=now_ms(),
        )
    return AttemptResult(
        status_reason=stop.reason,
        exit_code=exit_code if stop.keep_exit_code else None,
        terminal=stop.terminal,
        started_at=started,
        stopped_at=now_ms(),
    )
