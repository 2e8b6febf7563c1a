"""`run` on this machine: a new run folder, its `rerun` script and workflow bundle, the live
view, the child machines bound to local pseudo-ARNs, then the runner; the outcome is returned
(outputs, or the error JSON written to the run folder) for the CLI to report."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...contract.execution import execution_input
from ...runs.progress import Progress
from ...task_runner.atomic import write_text_atomic
from ...task_runner.store import RunStore
from ..requests import RunOptions, RunOutcome, RunRequest
from .resources import local_substitutions

if TYPE_CHECKING:
    from ...compiler import CompiledWorkflow
    from ...statemachine.executor import ExecutionResult

EXIT_FAILED = 1


def run_locally(request: RunRequest) -> RunOutcome:
    """Run the compiled workflow here and wait for it."""
    options, compiled = request.options, request.compiled
    root = options.dir.resolve()
    run_name = new_run_name(root, compiled.name)
    with _removed_unless_started(root / run_name):
        return _run_in(root, run_name, request)


def _run_in(root: Path, run_name: str, request: RunRequest) -> RunOutcome:
    """Run in the new folder ``root/run_name``."""
    from ...runs.progress import scatters_of_calls
    from ...runs.status import record_executor
    from ...task_runner.init import write_bundle
    from .rerun import write_rerun
    from .runner import LocalRunner

    options, compiled = request.options, request.compiled
    record_executor(root / run_name)
    point_last(root, run_name)
    write_rerun(root / run_name, options.argv, options.wdl, options.value_options)
    write_bundle(RunStore(root), compiled.digest, compiled.main, compiled.name, compiled.sources)
    machines = compiled.all_machines()
    progress = Progress(
        verbose=options.verbose,
        scatters_of=scatters_of_calls(
            [compiled.definition, *(m.definition for m in machines.values())]
        ),
    )
    runner = LocalRunner(
        root=root,
        runtime=options.container,
        copy_input_files=options.copy_input_files,
        on_event=progress.on_event,
        on_output=progress.on_output if options.verbose else None,
        strict_resources=options.strict_resources,
        as_me=options.as_me,
    )
    progress.running_jobs = runner.running_jobs
    children = local_machines(compiled)
    with progress, _WarningsTo(progress):
        progress.note(f"run {root / run_name}")
        definition = bind_children(compiled.definition, machines)
        outcome = runner.execute(
            definition,
            local_execution_input(options, request.inputs, run_name, RunStore(root)),
            run_name,
            children,
            {compiled.digest: request.doc},
        )
    return run_outcome(outcome.run_dir, outcome.result, options.output_file)


def local_execution_input(
    options: RunOptions, inputs: dict[str, Any], run_name: str, store: RunStore | None = None
) -> dict[str, Any]:
    """The execution input (DESIGN "Execution input"), with this run's options; large inputs
    by reference to the run folder's ``inputs.json`` (which init then rewrites validated)."""

    def store_inputs(text: str) -> str:
        assert store is not None
        write_text_atomic(store.run_dir(run_name) / RunStore.INPUTS, text)
        return f"{run_name}/{RunStore.INPUTS}"

    return execution_input(
        inputs,
        run_name,
        s3upload=options.s3upload,
        delete_after=options.delete_after,
        no_cache=options.no_cache,
        tags=options.tags,
        env=options.env,
        runtime_defaults=options.runtime_defaults,
        store_inputs=store_inputs if store is not None else None,
    )


@contextlib.contextmanager
def _removed_unless_started(run_dir: Path) -> Iterator[None]:
    """A run that fails before its execution starts (no history yet) leaves no folder behind:
    ``list`` shows runs by their record, so a stub would be invisible clutter."""
    try:
        yield
    except BaseException:
        if not (run_dir / RunStore.HISTORY).exists():
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


class _WarningsTo:
    """Warnings of the local Batch (a task clamped to the machine, a GPU missing) shown with
    the progress, where the user looks, not only in the job's log; and its image pulls (INFO)."""

    IMAGES = "wdl2sfn.backends.local.batch.images"

    def __init__(self, progress: Progress) -> None:
        self.logger = logging.getLogger("wdl2sfn.backends.local.batch")
        self.progress = progress
        self.handler = logging.Handler(logging.INFO)
        self.handler.emit = self._emit  # type: ignore[method-assign]
        self.images_level = logging.NOTSET

    def _emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().removeprefix("local Batch: ")
        if record.levelno >= logging.WARNING:
            self.progress.note(f"warning: {text}")
        elif record.name == self.IMAGES:
            self.progress.note(text)

    def __enter__(self) -> _WarningsTo:
        self.logger.addHandler(self.handler)
        images = logging.getLogger(self.IMAGES)
        self.images_level = images.level
        images.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
        logging.getLogger(self.IMAGES).setLevel(self.images_level)


def local_machine_arn(name: str) -> str:
    return f"arn:aws:states:local:000000000000:stateMachine:{name}"


def local_machines(compiled: CompiledWorkflow) -> dict[str, dict[str, Any]]:
    """Every machine a run of `compiled` may start, by local ARN: its child machines, and the
    stack's machines for its file system (``${StartMachineArn}``, ``${CallMachineArn}``,
    ``${FinishMachineArn}``)."""
    machines = compiled.all_machines()
    found = {
        local_machine_arn(name): bind_children(child.definition, machines)
        for name, child in machines.items()
    }
    bound = local_substitutions()
    for placeholder, definition in compiled.stack_machines().items():
        found[bound[placeholder]] = definition
    return found


def bind_children(definition: dict[str, Any], machines: dict[str, Any]) -> dict[str, Any]:
    """Bind StateMachineArn_<name> placeholders of child machines to local pseudo-ARNs."""
    text = json.dumps(definition)
    for name in machines:
        text = text.replace("${StateMachineArn_" + name + "}", local_machine_arn(name))
    return dict(json.loads(text))


def new_run_name(root: Path, workflow: str) -> str:
    """miniwdl's run folder naming: <timestamp>_<workflow>, made unique."""
    stamp = time.strftime("%Y%m%d_%H%M%S")
    base = f"{stamp}_{workflow}"
    name, n = base, 1
    while (root / name).exists():
        n += 1
        name = f"{base}_{n}"
    (root / name).mkdir(parents=True)
    return name


def point_last(root: Path, run_name: str) -> None:
    """``<dir>/_LAST`` -> the newest run, as miniwdl keeps it (replaced atomically: two runs
    starting at once leave a link to one of them, never none)."""
    tmp = root / f".{RunStore.LAST}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(run_name, tmp)
    os.replace(tmp, root / RunStore.LAST)


def run_outcome(
    run_dir: Path, result: ExecutionResult, output_file: str | None = None
) -> RunOutcome:
    """Success: {"dir", "outputs"}. Failure: the error JSON (also written to the run folder),
    the message and a summary line for stderr, and the failed task's exit status (as miniwdl)."""
    if result.status == "SUCCEEDED":
        outputs = json.loads((run_dir / "outputs.json").read_text())
        return RunOutcome({"dir": str(run_dir), "outputs": outputs}, 0, [], output_file)
    from ...runs.failure import describe, error_json
    from ...task_runner.atomic import write_json_atomic

    failure = describe(run_dir, result.error or "Error", result.cause or "")
    error = error_json(run_dir, result.status, failure)
    with contextlib.suppress(OSError):  # (a full disk: the error is still told, on stdout)
        write_json_atomic(run_dir / "error.json", error)
    details = error.get("message", "")
    messages = [details] if details and "\n" in details else []
    messages.append(f"wdl2sfn: {error['summary']}")
    code = EXIT_FAILED if result.status == "ABORTED" else failure.exit_code()
    return RunOutcome(error, code, messages, output_file)
