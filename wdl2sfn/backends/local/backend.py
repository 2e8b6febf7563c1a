"""``LocalBackend``: the ``Backend`` interface over run folders on this machine (the executor,
a local Batch, in-process steps). `run` is in run.py; the rest reads the run store."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...task_runner.store import RunStore
from ..errors import UsageError
from ..requests import (
    DeployRequest,
    FilesRequest,
    OutputsRequest,
    Rerun,
    ResumeRequest,
    RunOptions,
    RunOutcome,
    RunRef,
    RunRequest,
)


class LocalBackend:
    """Runs here; ``RunRef.dir`` is the folder the run folders are in."""

    name = "local"

    def filesystem(self) -> str:
        return "efs"

    def __init__(self) -> None:
        #: --container choice -> the engine it resolved to (asked once per backend)
        self._engines: dict[str, str] = {}

    def check_run(self, options: RunOptions) -> None:
        """The run folder writable, the ``--s3upload`` bucket there, the container engine
        answering (``auto``: which one, if any)."""
        from .checks import check_run_root, check_s3upload

        check_run_root(options.dir)
        if options.s3upload:
            check_s3upload(options.s3upload)
        self._engine(options.container)

    def _engine(self, choice: str) -> str:
        from .checks import resolve_container

        if choice not in self._engines:
            self._engines[choice] = resolve_container(choice)
        return self._engines[choice]

    def run(self, request: RunRequest) -> RunOutcome:
        from .run import run_locally

        engine = self._engine(request.options.container)
        if engine != request.options.container:
            options = dataclasses.replace(request.options, container=engine)
            request = dataclasses.replace(request, options=options)
        return run_locally(request)

    def list_runs(self, where: RunRef) -> list[dict[str, Any]]:
        from ...runs.status import list_runs

        return list_runs(where.dir)

    def status(self, ref: RunRef) -> dict[str, Any]:
        from ...runs.status import run_summary

        return run_summary(run_dir(ref))

    def logs(self, ref: RunRef) -> Iterator[str]:
        """Every call's stderr.txt, each under a ``==> PATH <==`` header (as tail does)."""
        folder = run_dir(ref)
        for log in sorted((folder / RunStore.CALLS).rglob(RunStore.STDERR)):
            yield f"==> {log} <==\n"
            yield log.read_text(errors="replace")

    def outputs(self, request: OutputsRequest) -> dict[str, Any]:
        if request.get:
            raise UsageError("--get: a local run's outputs are already here (see its out/ folder)")
        folder = run_dir(request.ref)
        if not (folder / RunStore.OUTPUTS).exists():
            run = request.ref.run
            raise UsageError(f"{run}: no outputs (`wdl2sfn status {run}` says why)")
        from ...task_runner.out_links import dangling_outputs

        folder = folder.resolve()  # (_LAST: the run it points to)
        outputs = json.loads((folder / RunStore.OUTPUTS).read_text())
        gone = dangling_outputs(folder, outputs)
        if gone:
            raise UsageError(
                f"{folder.name}: output files are gone (deleted since the run): " + "; ".join(gone)
            )
        return {"dir": str(folder), "outputs": outputs}

    def files(self, request: FilesRequest) -> dict[str, Any]:
        from ...task_runner import files

        folder = run_dir(request.ref).resolve()  # (_LAST: the run it points to)
        try:
            _, target = files.target_path(RunStore(folder.parent), folder.name, request.path)
            answer = files.listing(folder, target, request.recursive)
            if request.get:
                dest = Path(request.get).resolve() / folder.name
                answer["downloaded"] = files.copy_files(folder, target, dest)
        except files.FilesError as exn:
            raise UsageError(str(exn)) from None
        return {"run": folder.name, "path": request.path or ".", **answer}

    def cost(self, ref: RunRef) -> dict[str, Any]:
        """Measured from the run's execution histories, priced as docs/cost.md says."""
        from ...runs.cost import measure, priced
        from ...runs.failure import execution_histories
        from ...runs.status import run_status
        from ...statemachine.history import read_events

        folder = run_dir(ref)
        usage = measure(read_events(h) for h in execution_histories(folder))
        answer = {"run": folder.name, "dir": str(folder), "status": run_status(folder)}
        return {**answer, **priced(usage)}

    def resume(self, request: ResumeRequest) -> Rerun:
        """The run's `rerun` command again (same inputs and options), with the call cache."""
        from ...runs.status import run_status
        from .rerun import rerun_argv

        if run_status(run_dir(request.ref)) == "RUNNING":  # two executors would share one run
            raise UsageError(
                f"{request.ref.run} is still running: wait for it, or stop it (Ctrl-C), then resume"
            )
        rerun = run_dir(request.ref) / "rerun"
        if not rerun.is_file():
            raise UsageError(
                f"{request.ref.run}: no rerun script in the run folder (made by `wdl2sfn run`)"
            )
        folder, argv = rerun_argv(rerun)
        print(
            f"wdl2sfn: resuming {request.ref.run}: running it again with the call cache",
            file=sys.stderr,
        )
        return Rerun(folder, argv)

    def stop(self, ref: RunRef) -> dict[str, Any]:
        raise UsageError("stop: only with --backend aws (Ctrl-C stops a local run)")

    def deploy(self, request: DeployRequest) -> dict[str, Any]:
        raise UsageError("deploy: only with --backend aws")

    def history_events(self, ref: RunRef) -> list[dict[str, Any]]:
        from ...runs.failure import execution_histories
        from ...statemachine.history import read_events

        folder = ref.dir / ref.run
        return [e for h in execution_histories(folder) for e in read_events(h)]

    def queue_arn(self, output: str) -> str:
        from .resources import local_substitutions

        return str(local_substitutions()[output])

    def read_output(self, path: str) -> str | None:
        if path.startswith("s3://"):
            from ..aws.outcome import read_s3_text

            return read_s3_text(path, None)
        try:
            return Path(path).read_text()
        except OSError:
            return None


def run_dir(ref: RunRef) -> Path:
    """A run's folder: a folder path, or a run name under ``ref.dir``."""
    folder = Path(ref.run) if Path(ref.run).is_dir() else ref.dir / ref.run
    if not (folder / RunStore.RECORD).exists():
        raise UsageError(f"{ref.run}: no such run under {ref.dir}")
    return folder
