"""A miniwdl container backend that runs task commands as plain host subprocesses (no container).

Why this exists: this machine has no Docker engine, and miniwdl's built-in backends (docker_swarm,
podman, singularity, udocker) all need a container runtime. To benchmark wdl2sfn's local executor
against miniwdl, and to measure the conformance of miniwdl itself on the WDL spec examples, we
need miniwdl to run task commands directly on the host. This is NOT a sandbox: commands run as the
invoking user with the host filesystem and environment; the task's `docker`/`container` runtime
value is ignored.

Design:

* No path translation: ``container_dir == host_dir``. Input File/Directory values map to
  themselves (``input_path_map`` is the identity), so the command sees the original host paths,
  and files the command writes under ``{host_dir}/work`` are already host paths. Every attempt
  runs in ``{host_dir}/work`` (a failed attempt's work dir and streams are renamed aside on
  retry), so the identity also holds on retries.
* ``copy_input_files`` (``--copy-input-files``) is accepted but inputs are still used in place
  (they are not write-protected either, unlike the read-only mounts of the container backends).
* runtime ``cpu``/``memory`` are scheduling hints only: tasks are admitted by miniwdl's own
  ``_SubprocessScheduler`` (as for the podman/singularity/udocker backends) so that the sum of the
  running tasks' reservations fits the host's CPU count and memory, but nothing is enforced.
* The command script (``{host_dir}/command``, preceded by ``export``s of the runtime ``env``) is
  run with ``[task_runtime] command_shell`` (default ``/bin/bash``) in ``{host_dir}/work``, with
  stdout/stderr appended to ``{host_dir}/stdout.txt`` / ``stderr.txt``, in its own session so a
  termination signal reaches the whole process group.

Use it through ``bench/miniwdl_host.py`` (which registers it as container backend ``host``), or
install an entry point ``host = miniwdl_host_backend:HostContainer`` in the group
``miniwdl.plugin.container_backend`` and set ``[scheduler] container_backend = host``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shlex
import signal
import subprocess
from collections.abc import Callable
from contextlib import ExitStack, suppress

import psutil
from WDL import Error
from WDL._util import StructuredLogMessage as _
from WDL._util import path_really_within
from WDL.runtime import config
from WDL.runtime.backend.cli_subprocess import _SubprocessScheduler
from WDL.runtime.error import Terminated
from WDL.runtime.task_container import TaskContainer

__all__ = ["HostContainer"]


class HostContainer(TaskContainer):
    """TaskContainer running the task command as a host subprocess, without path translation."""

    _resource_limits: dict[str, int] | None = None

    @classmethod
    def global_init(cls, cfg: config.Loader, logger: logging.Logger) -> None:
        cls.detect_resource_limits(cfg, logger)
        logger.notice(  # type: ignore[attr-defined]
            _(
                "host subprocess backend initialized (no containers; runtime.docker ignored)",
                shell=cfg.get("task_runtime", "command_shell"),
            )
        )

    @classmethod
    def detect_resource_limits(cls, cfg: config.Loader, logger: logging.Logger) -> dict[str, int]:
        if not cls._resource_limits:
            cls._resource_limits = {
                "cpu": multiprocessing.cpu_count(),
                "mem_bytes": psutil.virtual_memory().total,
            }
            logger.info(_("detected host resources", **cls._resource_limits))
            _SubprocessScheduler.global_init(cls._resource_limits)
        return cls._resource_limits

    def __init__(self, cfg: config.Loader, run_id: str, host_dir: str) -> None:
        super().__init__(cfg, run_id, host_dir)
        self.container_dir = self.host_dir  # identity: "in-container" paths are host paths

    # -- fixed host names for every attempt (the base class uses work2/, stdout2.txt, ...) --

    def host_work_dir(self) -> str:
        return os.path.join(self.host_dir, "work")

    def host_stdout_txt(self) -> str:
        return os.path.join(self.host_dir, "stdout.txt")

    def host_stderr_txt(self) -> str:
        return os.path.join(self.host_dir, "stderr.txt")

    def reset(self, logger: logging.Logger) -> None:
        # keep the failed attempt's traces under attempt-numbered names, then start afresh
        n = self.try_counter
        for name, aside in (
            ("work", f"work.attempt{n}"),
            ("stdout.txt", f"stdout.attempt{n}.txt"),
            ("stderr.txt", f"stderr.attempt{n}.txt"),
        ):
            with suppress(FileNotFoundError):
                os.rename(os.path.join(self.host_dir, name), os.path.join(self.host_dir, aside))
        self.try_counter += 1
        os.makedirs(self.host_work_dir())

    # -- identity path mapping --

    def add_paths(self, host_paths) -> None:
        assert not self._running
        for host_path in host_paths:
            if host_path in self.input_path_map:
                continue
            if not os.path.exists(host_path.rstrip("/")):
                raise Error.InputError("input path not found: " + host_path)
            self.input_path_map[host_path] = host_path
            self.input_path_map_rev[host_path] = host_path

    def copy_input_files(self, logger: logging.Logger) -> None:
        logger.warning("host backend: copy_input_files ignored; input files are used in place")

    def _input_host_path(self, container_path: str) -> tuple[bool, str | None]:
        # an input itself, or a path within an input Directory (keys of those end with "/")
        if not os.path.isabs(container_path):
            return False, None
        if container_path in self.input_path_map_rev:
            return True, container_path
        parent = os.path.dirname(container_path.rstrip("/"))
        while parent and parent != "/":
            if parent + "/" in self.input_path_map_rev:
                if not path_really_within(container_path, parent):
                    raise Error.InputError(
                        "task inputs attempted to use a non-input or non-existent path "
                        + container_path
                    )
                return True, container_path
            parent = os.path.dirname(parent)
        return False, None

    # -- running the command --

    def _run(self, logger: logging.Logger, terminating: Callable[[], bool], command: str) -> int:
        with ExitStack() as cleanup:
            # await cpu & memory availability (reservations are hints, not enforced limits)
            cpu = self.runtime_values.get("cpu", 0)
            mem = self.runtime_values.get("memory_reservation", 0)
            scheduler = _SubprocessScheduler(cpu, mem)
            cleanup.enter_context(scheduler)
            logger.info(_("provisioned", seconds_waited=scheduler.delay, cpu=cpu, mem_bytes=mem))

            script = os.path.join(self.host_dir, "command")
            with open(script, "w") as outfile:
                for k, v in self.runtime_values.get("env", {}).items():
                    outfile.write(f"export {k}={shlex.quote(v)}\n")
                outfile.write(command)
            stdout = cleanup.enter_context(open(self.host_stdout_txt(), "ab"))
            stderr = cleanup.enter_context(open(self.host_stderr_txt(), "ab"))
            poll_stderr = cleanup.enter_context(self.poll_stderr_context(logger))

            argv = shlex.split(self.cfg.get("task_runtime", "command_shell")) + [script]
            proc = subprocess.Popen(
                argv,
                cwd=self.host_work_dir(),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
            logger.notice(_("host subprocess", pid=proc.pid, argv=argv))  # type: ignore[attr-defined]
            cleanup.enter_context(self.task_running_context())

            exit_code = None
            signaled = False
            while exit_code is None:
                if terminating() and not signaled:
                    with suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGTERM)
                    signaled = True
                try:
                    exit_code = proc.wait(1)
                except subprocess.TimeoutExpired:
                    pass
                poll_stderr()
            if terminating():
                raise Terminated()
        assert isinstance(exit_code, int)
        # like a shell/docker: report death by signal N as 128+N
        return exit_code if exit_code >= 0 else 128 - exit_code
