"""Process launch and signals: an attempt's environment and command line (host, or a docker /
podman container), its start, and its end.

A container's exit kills everything left in it: each attempt runs in a process group of its own,
and when its main process exits the rest of the group is killed too. A timeout, abort or
termination sends SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from wdl2sfn.backends.local.daemons import DaemonSweeper
from wdl2sfn.backends.local.orphans import JobLedger, signal_group

from .api import REASON_START_FAILED, RUNNER_IMAGE
from .images import ImagePuller
from .records import AttemptResult, Job
from .ulimits import with_defaults

log = logging.getLogger(__name__)

#: environment variables of the executor that task commands must not inherit
STEP_SECRETS = frozenset({"WDL2SFN_CACHE_KEY"})
_LOG_PREFIX = "[wdl2sfn local batch]"
#: idle private TMPDIRs kept for reuse (at most one per attempt running at once, in practice)
SCRATCH_KEPT = 256


def note(log_path: Path, text: str) -> None:
    """A line of the local Batch's own in the job's log (where the user reads why)."""
    with open(log_path, "a") as f:
        f.write(f"{_LOG_PREFIX} {text}\n")


def inherited_environment(desc: Mapping[str, Any]) -> dict[str, str]:
    """This process's environment for a job, as a host process inherits it -- minus the
    secrets only the run-time steps may hold (the call cache's sealing key): a task's
    command never sees them; a runner job (the steps themselves) does."""
    if desc.get("container", {}).get("image") == RUNNER_IMAGE:
        return dict(os.environ)
    return {k: v for k, v in os.environ.items() if k not in STEP_SECRETS}


def job_environment(
    desc: Mapping[str, Any], attempt: int, env: Mapping[str, str], gpu_ids: Sequence[int], tee: bool
) -> dict[str, str]:
    """The job's own variables: its definition's, then those Batch sets for every attempt."""
    job_env = dict(env)
    job_env["AWS_BATCH_JOB_ID"] = desc["jobId"]
    job_env["AWS_BATCH_JOB_ATTEMPT"] = str(attempt)
    job_env["AWS_BATCH_JQ_NAME"] = desc["jobQueue"].rsplit("/", 1)[-1]
    job_env["AWS_BATCH_CE_NAME"] = "wdl2sfn-local"
    if not tee:
        job_env["WDL2SFN_NO_TEE"] = "1"  # stderr.txt has it all; skip the tee process
    if gpu_ids:
        job_env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in gpu_ids)
    return job_env


def exit_watcher(proc: subprocess.Popen[Any]) -> threading.Event:
    """An event set when `proc` exits (not reaped: WNOWAIT), so waiting costs no polling delay."""
    exited = threading.Event()

    def watch() -> None:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        exited.set()

    threading.Thread(target=watch, daemon=True, name=f"exit-{proc.pid}").start()
    return exited


def has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """Has the process exited? Does not reap it, so its pid (= the process group id) cannot
    be reused before we have killed the rest of the group."""
    if hasattr(os, "waitid"):
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None
    return proc.poll() is not None  # pragma: no cover - platforms without waitid


def _container_mounts(
    container: Mapping[str, Any], shared: Iterable[str]
) -> list[tuple[str, str, bool]]:
    """(host path, container path, read-only): the shared paths, then the job's host volumes."""
    mounts: list[tuple[str, str, bool]] = [(m, m, False) for m in shared]
    volumes = {v.get("name"): v for v in container.get("volumes", [])}
    for mp in container.get("mountPoints", []):
        vol = volumes.get(mp.get("sourceVolume"), {})
        src = (vol.get("host") or {}).get("sourcePath")
        if src and mp.get("containerPath"):
            mounts.append((src, mp["containerPath"], bool(mp.get("readOnly"))))
    return mounts


@dataclass(frozen=True)
class ContainerSetup:
    """One job's container as a caller other than the local run sets it up (the AWS rehearsal,
    from the registered job definition): its mounts (in place of the run folder and the job's
    host volumes), a file of variables the launcher's environment must not carry (a role's keys:
    ``--env-file``, readable only by its owner), and the definition's ``user`` and ``ulimits``
    (``NAME=SOFT:HARD``), and further engine options (its ``linuxParameters``: ``--shm-size``,
    ``--device``, ...)."""

    mounts: tuple[tuple[str, str, bool], ...] = ()
    env_file: str | None = None
    user: str | None = None
    ulimits: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


#: how a caller sets up a job's container: None runs the job on the host (host_wrapper) instead
ContainerSetupHook = Callable[[dict[str, Any]], ContainerSetup | None]


@dataclass
class ProcessLauncher:
    """Starts and stops attempts' processes.

    runtime: "host", or "docker"/"podman" at runtime_exe. mounts: host paths bind-mounted at the
    same path into containers. host_wrapper: on the host, wraps each attempt's command (the AWS
    rehearsal's sandbox); an exception it raises fails the attempt as a container that cannot
    start. on_output: (job name, line) for each stderr line. ledger: where running attempts
    are written down, so a later run can kill what a killed executor left. container_setup:
    with an engine, each job's container set up by the caller (ContainerSetupHook)."""

    runtime: str
    runtime_exe: str | None
    mounts: tuple[str, ...]
    host_wrapper: Callable[[dict[str, Any], list[str]], list[str]] | None
    on_output: Callable[[str, str], None] | None
    ledger: JobLedger | None
    kill_grace_seconds: float
    container_user: str | None = None  # uid:gid for containers (run --as-me)
    container_setup: ContainerSetupHook | None = None
    _images: ImagePuller | None = field(default=None, init=False, repr=False)
    daemons: DaemonSweeper = field(default_factory=DaemonSweeper, init=False, repr=False)

    def argv(
        self,
        job: Job,
        attempt: int,
        command: list[str],
        job_env: Mapping[str, str],
        gpu_ids: Sequence[int],
        log_path: Path,
    ) -> list[str] | AttemptResult:
        """The attempt's command line, or the attempt's end if its container cannot start."""
        if self.runtime == "host" or job.desc["container"].get("image") == RUNNER_IMAGE:
            # the run-time steps (FSx mode's runner jobs) are wdl2sfn's own Python: locally
            # they run where wdl2sfn is installed; the runner image exists only on AWS
            return self._host_argv(job, command, log_path)
        setup = self._setup(job, log_path)
        if isinstance(setup, AttemptResult):
            return setup
        if setup is None and self.container_setup is not None:  # the caller runs it on the host
            return self._host_argv(job, command, log_path)
        problem = self._pull(job.desc["container"]["image"], log_path)
        if problem is not None:
            return problem
        # inside the container `--gpus` renumbers the devices it exposes from 0: the host's
        # indexes in CUDA_VISIBLE_DEVICES would be wrong there
        container_env = [k for k in job_env if k != "CUDA_VISIBLE_DEVICES"]
        job.container_name = f"wdl2sfn-{job.desc['jobId']}-{attempt}"
        return self.container_argv(job.desc, attempt, command, container_env, gpu_ids, setup)

    def _setup(self, job: Job, log_path: Path) -> ContainerSetup | AttemptResult | None:
        """The caller's set-up of this job's container (None: the local run's own, or the caller
        runs it on the host), or the attempt's end when it cannot be set up (a mount the job
        role may not make), as a container that cannot start."""
        if self.container_setup is None:
            return None
        try:
            setup = self.container_setup(job.desc)
        except Exception as e:
            note(log_path, f"CannotStartContainerError: {e}")
            return AttemptResult.not_started(REASON_START_FAILED, str(e)[:255])
        return setup

    def _pull(self, image: str, log_path: Path) -> AttemptResult | None:
        """The image pulled if it is not here yet; else the attempt ended before its command,
        as ECS ends one whose image it cannot pull."""
        assert self.runtime_exe
        if self._images is None or self._images.exe != self.runtime_exe:
            self._images = ImagePuller(self.runtime, self.runtime_exe)
        problem = self._images.ensure(image, log_path)
        if problem is None:
            return None
        note(log_path, problem)
        # the job's status reason is ECS's own (the ECS agent reports a failed pull as "Status
        # reason: CannotPullContainerError: ...", aws/amazon-ecs-agent#1434), so it names the image
        return AttemptResult.not_started(problem, problem)

    def _host_argv(self, job: Job, command: list[str], log_path: Path) -> list[str] | AttemptResult:
        """The host command line, through the host wrapper if any; a wrapper error is an
        attempt whose container could not start."""
        try:
            return (
                self.host_wrapper(job.desc, list(command)) if self.host_wrapper else list(command)
            )
        except Exception as e:
            note(log_path, f"CannotStartContainerError: {e}")
            return AttemptResult.not_started(REASON_START_FAILED, str(e)[:255])

    def container_argv(
        self,
        job: Mapping[str, Any],
        attempt: int,
        command: Sequence[str],
        env_names: Iterable[str],
        gpu_ids: Sequence[int],
        setup: ContainerSetup | None = None,
    ) -> list[str]:
        """The `docker run` / `podman run` command line for one attempt (runtime != host).
        Environment values are passed by name only (-e NAME) and read from the client's
        environment (or `setup`'s file), so they never appear on a command line."""
        assert self.runtime_exe
        container = job["container"]
        argv = [self.runtime_exe, "run", "--rm", "--name", f"wdl2sfn-{job['jobId']}-{attempt}"]
        # an ECS-EC2 Batch job's network mode is `host` (AWS Batch user guide, "Networking modes
        # for AWS Batch jobs"); it also spares each container a network namespace (0.2 s here)
        argv += ["--network", "host"]
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
        if setup is not None and setup.env_file:
            argv += ["--env-file", setup.env_file]
        for name in env_names:
            argv += ["-e", name]
        user = self.container_user or (setup.user if setup is not None else None)
        if user:  # --as-me, else the job definition's `user`
            argv += ["--user", user]
        for limit in with_defaults(setup.ulimits if setup is not None else (), self.runtime):
            argv += ["--ulimit", limit]
        mounts = setup.mounts if setup is not None else _container_mounts(container, self.mounts)
        for src, dst, ro in mounts:
            argv += ["-v", f"{src}:{dst}" + (":ro" if ro else "")]
        argv += list(setup.options) if setup is not None else []
        argv.append(container["image"])
        argv += list(command)
        return argv

    def start(
        self, job: Job, attempt: int, argv: list[str], env: dict[str, str], log_file: IO[bytes]
    ) -> subprocess.Popen[bytes]:
        """Start the attempt in a process group of its own and write it in the ledger;
        raises OSError if it cannot start."""
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.PIPE if self.on_output else subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        job.proc = proc
        if self.ledger is not None:
            self.ledger.record(
                f"{job.desc['jobId']}-{attempt}",
                proc.pid,
                scratch=job.scratch,
                container=self._kill_argv(job),
            )
        return proc

    def forget(self, job: Job, attempt: int) -> None:
        """The attempt's process is gone: out of the ledger."""
        if job.proc is not None and self.ledger is not None:
            self.ledger.forget(f"{job.desc['jobId']}-{attempt}")
        job.proc = None

    def pump(self, name: str, proc: subprocess.Popen[bytes], log_file: IO[bytes]) -> Any:
        """With on_output, a thread copying the attempt's stderr to its log and to on_output;
        else None (stderr goes straight to the log)."""
        if not self.on_output or proc.stderr is None:
            return None
        reader = threading.Thread(
            target=self._pump_stderr,
            args=(name, proc.stderr, log_file),
            daemon=True,
            name=f"stderr-{name}",
        )
        reader.start()
        return reader

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

    def _kill_argv(self, job: Job) -> list[str]:
        """The command that kills this attempt's container ([] on the host)."""
        if self.runtime == "host" or not job.container_name or not self.runtime_exe:
            return []
        return [self.runtime_exe, "kill", job.container_name]

    def signal_group(self, job: Job, sig: int, *, container: bool = False) -> None:
        """Signal the attempt's process group (and with `container`, kill its container)."""
        proc = job.proc
        if proc is None:
            return
        signal_group(proc.pid, sig)
        kill = self._kill_argv(job) if container else []
        if kill:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(kill, capture_output=True, timeout=15)

    def kill(self, job: Job, proc: subprocess.Popen[bytes], *, graceful: bool) -> None:
        """SIGTERM the job's process group, SIGKILL it after the grace period."""
        if graceful:
            self.signal_group(job, signal.SIGTERM)
            deadline = time.monotonic() + self.kill_grace_seconds
            while time.monotonic() < deadline and not has_exited(proc):
                time.sleep(0.02)
        self.signal_group(job, signal.SIGKILL, container=True)


class ScratchDirs:
    """On the host, each attempt gets a TMPDIR of its own, as a container has its own /tmp.

    An attempt that leaves its TMPDIR empty (most do) gives it back for the next attempt: making
    and removing a folder per attempt cost about 0.15 ms of system CPU here, checking that one is
    empty a few microseconds. A folder left with anything in it, or changed (mode, type), is
    removed. All are removed on every exit path (shutdown; after a kill, the next run's sweep of
    the ledger, which names each folder an attempt used)."""

    def __init__(self, keep: int = SCRATCH_KEPT) -> None:
        self._lock = threading.Lock()
        self._dirs: set[str] = set()  # in use or idle
        self._idle: list[str] = []
        self.keep = keep

    def make(self, job: Job) -> str:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        scratch = tempfile.mkdtemp(prefix="wdl2sfn-job-")
        with self._lock:
            self._dirs.add(scratch)
        return scratch

    def drop(self, scratch: str) -> None:
        """The attempt using `scratch` has ended: keep it for another if it is as made."""
        if _pristine(scratch):
            with self._lock:
                if scratch in self._dirs and len(self._idle) < self.keep:
                    self._idle.append(scratch)
                    return
        self._remove(scratch)

    def _remove(self, scratch: str) -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        with self._lock:
            self._dirs.discard(scratch)
            if scratch in self._idle:
                self._idle.remove(scratch)

    def drop_all(self) -> None:
        """Idle ones, and those an attempt thread did not get to clean up (shutdown)."""
        with self._lock:
            left = list(self._dirs)
        for scratch in left:
            self._remove(scratch)


def _pristine(folder: str) -> bool:
    """Is `folder` still an empty, private (0700) folder, as mkdtemp made it?"""
    try:
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o700:
            return False
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def runtime_executable(runtime: str) -> str | None:
    """The docker/podman executable for `runtime` (None on the host); a clear error if the
    runtime is unknown or not installed."""
    if runtime not in ("host", "docker", "podman"):
        raise ValueError(f"runtime must be 'host', 'docker' or 'podman', not {runtime!r}")
    if runtime == "host":
        return None
    exe = shutil.which(runtime)
    if not exe:
        raise RuntimeError(
            f"local Batch runtime {runtime!r} requested but no {runtime!r} executable is "
            f"on PATH; install {runtime} or use runtime='host'"
        )
    return exe
