"""Run a compiled state machine on this machine: the executor + local Batch + in-process steps.

The definition is exactly what `wdl2sfn compile` prints; only the resources behind its Task
states differ from AWS (invariant 5, "same ASL everywhere").
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...statemachine.executor import ExecutionResult, Executor, FolderObjectStore
from ...statemachine.quotas import Quotas
from ...task_runner.answers import CALLBACKS_ENV
from ...task_runner.handlers import Runtime, Settings
from ...task_runner.store import RunStore
from .batch import FaultPlan, LocalBatch
from .callbacks import AnswerRelay
from .resources import RUN_BUCKET, local_handlers, local_stack_arns, local_substitutions


@dataclass
class LocalRun:
    """One local execution: where it lives and what came out."""

    run_dir: Path
    result: ExecutionResult


@dataclass
class LocalRunner:
    """Runs one compiled state machine here: the executor, a local Batch, in-process steps."""

    root: Path
    runtime: str = "host"  # host | docker | podman
    copy_input_files: bool = False
    on_event: Callable[[str, dict[str, Any]], None] | None = None
    on_output: Callable[[str, str], None] | None = None
    cpus: int | None = None
    memory_mib: int | None = None
    strict_resources: bool = False
    as_me: bool = False
    batch: LocalBatch | None = None
    quotas: Quotas | None = None  # AWS's by default; tests scale them down

    def running_jobs(self) -> int:
        """Job processes running now (what the live view calls "running")."""
        batch = self.batch
        if batch is None:
            return 0
        return sum(
            len(batch.list_jobs(jobStatus=status)["jobSummaryList"])
            for status in ("STARTING", "RUNNING")
        )

    def execute(
        self,
        definition: dict[str, Any],
        execution_input: dict[str, Any],
        run_name: str,
        state_machines: dict[str, dict[str, Any]] | None = None,
        documents: dict[str, Any] | None = None,
    ) -> LocalRun:
        """Start the execution and wait for it; Ctrl-C / SIGTERM / SIGHUP stop it like
        StopExecution. Jobs a killed executor left running on this store are killed first."""
        self.root.mkdir(parents=True, exist_ok=True)
        (run_dir := self.root / run_name).mkdir(parents=True, exist_ok=True)
        _expose_runner_environment(self.root)
        store = RunStore(self.root)
        batch = LocalBatch(
            runtime=self.runtime,
            log_dir=run_dir / "_batch_logs",
            faults=FaultPlan.from_env(),
            on_output=self.on_output,
            mounts=[run_dir],  # docker/podman: the run folder only (docs/security.md)
            cpus=self.cpus,
            memory_mib=self.memory_mib,
            registry_dir=store.batch_dir() / "job_definitions",
            clamp_to_machine=not self.strict_resources,
            ledger_dir=store.batch_dir() / "running",
        )
        if self.as_me:
            batch.container_user = f"{os.getuid()}:{os.getgid()}"
        self.batch = batch
        runtime = Runtime(_steps_settings(self, store, batch))
        for digest, doc in (documents or {}).items():
            runtime.remember(digest, doc)
        bucket = functools.partial(store.key_path, run=run_name)  # run scratch in its folder
        executor = Executor(
            definition,
            local_handlers(batch, runtime.dispatch, {RUN_BUCKET: bucket}),
            substitutions=local_substitutions(),
            history_dir=run_dir,
            object_store=FolderObjectStore(self.root, buckets={RUN_BUCKET: bucket}),
            state_machines=state_machines or {},
            on_event=self.on_event,
            max_threads=local_concurrency(),
            quotas=self.quotas,
        )
        runtime.settings.task_tokens = executor.task_tokens  # exact joins' SendTaskSuccess
        execution = executor.start(execution_input, run_name)
        try:
            with _stop_on_signals(execution.stop), AnswerRelay(run_dir, executor.task_tokens):
                result = execution.wait()
        finally:
            batch.shutdown()
            runtime.forget(run_name)
        return LocalRun(run_dir, result)


def _steps_settings(runner: LocalRunner, store: RunStore, batch: LocalBatch) -> Settings:
    """The in-process run-time steps' settings: as the stack's Lambda functions have them."""
    queues, upload = local_stack_arns()
    return Settings(
        store=store,
        job_definitions=batch,
        copy_input_files=runner.copy_input_files,
        mount=container_mount(runner.runtime),
        queues=queues,
        runner=upload,
    )


def container_mount(runtime: str) -> dict[str, Any]:
    """What the run-time steps must know of a task container's view of the store. A docker or
    podman container gets the run folder alone (not the store: other runs, the call cache, the
    downloads), so its inputs are localized as on AWS ("contained": hard links, or copies, into
    the call folder; never a symlink out of it) and its TMPDIR is the container's own /tmp.
    Host jobs see the whole file system anyway: nothing to narrow."""
    return {"contained": True} if runtime != "host" else {}


def local_concurrency() -> int:
    """Child executions (and inline iterations) run at once per Map state on this machine.

    On AWS a Distributed Map starts up to 1,000 children and Batch queues their jobs; here each
    in-flight iteration is a thread, so a 100,000-shard scatter would hold thousands of threads
    waiting for two cores. A few children per core keep every core busy without that.
    """
    return max(8, 4 * (os.cpu_count() or 1))


def _expose_runner_environment(root: Path) -> None:
    """Runner jobs (python -m wdl2sfn.task_runner) run as host subprocesses: point them here."""
    os.environ["WDL2SFN_STORE"] = str(root)
    os.environ["WDL2SFN_LOCAL_JOB_DEFINITIONS"] = str(
        RunStore(root).batch_dir() / "job_definitions"
    )
    os.environ[CALLBACKS_ENV] = "store"  # task-token answers: files the AnswerRelay hands on
    bindir = os.path.dirname(sys.executable)
    if not os.environ.get("PATH", "").startswith(bindir + os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _stop_on_signals:
    """SIGINT/SIGTERM/SIGHUP -> stop the execution (its Batch jobs are killed), then report.

    SIGHUP (the terminal closed, the ssh session dropped) is a stop like the others: its default
    action would end the process at once, leaving the jobs running and no error.json."""

    def __init__(self, stop: Callable[..., None]) -> None:
        self.stop = stop
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _stop_on_signals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.stop("wdl2sfn.Interrupted", f"stopped by signal {signal.Signals(signum).name}")

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
