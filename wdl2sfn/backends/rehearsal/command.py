"""``wdl2sfn rehearse``: serve a rehearsed account, or rehearse one workflow run end to end.

* ``wdl2sfn rehearse --serve [-c KEY=VALUE ...]`` prints one JSON line ``{"endpoint", "region",
  "stack", "folder"}`` and serves until interrupted; point ``AWS_ENDPOINT_URL`` at the endpoint.
* ``wdl2sfn rehearse WF.wdl [-i in.json] [name=value ...] [-c ...] [--dir D]`` serves, deploys
  with ``wdl2sfn deploy``'s code, starts with ``run --backend aws``'s code, waits, and prints the
  outputs JSON as ``run`` does (exit codes as ``run``), file paths as paths on this machine.
  The rehearsal folder (kept) is ``D/<timestamp>_<workflow>/``.

``--container`` (``request.container``) says how Batch jobs run, asked once as ``run`` asks it
(docs/rehearsal.md, "Batch jobs in their images"); one line on stderr says which.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..requests import RehearseRequest, RunOptions
from ..workflow import CompileOptions
from .quotas import check_settings

if TYPE_CHECKING:
    import WDL

    from ...compiler import CompiledWorkflow

from ...contract import RUN_BUCKET
from ...contract.settings import Settings, load_settings
from ...task_runner.store import RunStore

EXIT_FAILED = 1
EXIT_USAGE = 2
AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def cmd_rehearse(request: RehearseRequest) -> int:
    """Serve the account, or rehearse one workflow run (``request.compile`` is None: serve
    only)."""
    from .extra import RehearsalNotInstalled, require_rehearse_extra
    from .moto_support import UnsupportedMoto, check
    from .template import SynthError, parse_context

    try:
        require_rehearse_extra()
        check()
        context = parse_context(request.context)
    except (SynthError, UnsupportedMoto, RehearsalNotInstalled) as exn:
        return _usage(str(exn))
    if request.compile is None and not request.serve:
        return _usage("rehearse: give a workflow (WF.wdl) or --serve")
    try:
        settings = load_settings()
        check_settings(settings.rehearsal_quotas, settings.rehearsal_runnable_seconds)
        runtime = batch_runtime(request.container)
    except UsageError as exn:
        return _usage(str(exn))
    if request.serve:
        return serve(request, context, runtime)
    assert request.compile is not None
    return rehearse_run(request, request.compile, context, runtime)


def batch_runtime(choice: str) -> str:
    """How Batch jobs run (host, docker or podman), said once on stderr: the engine's probes
    are ``run --container``'s; a forced engine that does not answer is a UsageError."""
    from ..local.checks import ENGINE_PROBES, engine_problem

    problems = []
    engines = [choice] if choice in ENGINE_PROBES else list(ENGINE_PROBES)
    for engine in engines if choice != "host" else []:
        problem = engine_problem(engine)
        if problem is None:
            _say(f"Batch jobs run in their job definitions' images with {engine}; the stack's "
                 f"runner jobs (wdl2sfn's run-time steps) run as host processes, not in the "
                 f"runner image (it is not built here)")  # fmt: skip
            return engine
        if choice != "auto":
            raise UsageError(f"--container {choice}: {problem}")
        problems.append(problem)
    why = f"no container engine answers ({'; '.join(problems)})" if problems else "--container host"
    _say(f"{why}: Batch jobs run as host processes and their images are ignored")
    return "host"


def _say(line: str) -> None:
    print(f"wdl2sfn: rehearsal: {line}", file=sys.stderr, flush=True)


def _folder(request: RehearseRequest, name: str) -> Path:
    root = request.dir.resolve()
    stamp = time.strftime("%Y%m%d_%H%M%S")
    for n in range(1, 1000):
        folder = root / (f"{stamp}_{name}" if n == 1 else f"{stamp}_{name}_{n}")
        if not folder.exists():
            return folder
    raise RuntimeError(f"no free rehearsal folder under {root}")


def serve(request: RehearseRequest, context: dict[str, Any], runtime: str = "host") -> int:
    from .service import Rehearsal
    from .template import SynthError

    try:
        rehearsal = Rehearsal(context, _folder(request, "serve"), port=request.port,
                              runtime=runtime).start()  # fmt: skip
    except SynthError as exn:
        return _usage(str(exn))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print(json.dumps(rehearsal.describe()), flush=True)
        if request.fire_schedules:
            for arn in rehearsal.fire_schedules():
                print(f"wdl2sfn: schedule started {arn}", file=sys.stderr, flush=True)
        stop.wait()
    finally:
        rehearsal.close()
    return 0


def rehearse_run(request: RehearseRequest, options: CompileOptions, context: dict[str, Any],
                 runtime: str = "host") -> int:  # fmt: skip
    """Everything `run` checks happens before the account is built (inputs, WDL)."""
    from ..workflow import compile_workflow, parse_inputs
    from .service import Rehearsal
    from .template import SynthError

    filesystem = "fsx" if context.get("variant") == "fsx" else "efs"
    doc, compiled = compile_workflow(dataclasses.replace(options, filesystem=filesystem))
    inputs = parse_inputs(doc, request.inputs, request.input_file)
    folder = _folder(request, compiled.name)
    try:
        rehearsal = Rehearsal(context, folder, runtime=runtime).start()
    except SynthError as exn:
        return _usage(str(exn))
    try:
        _point_at(rehearsal)
        return _run(request, rehearsal, compiled, doc, inputs)
    finally:
        rehearsal.close()
        print(f"wdl2sfn: rehearsal folder {folder}", file=sys.stderr)


def _point_at(rehearsal: Any) -> None:
    for name in AWS_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(rehearsal.environment())
    os.environ.setdefault(Settings.variable("poll_seconds"), "0.5")


def _run(request: RehearseRequest, rehearsal: Any, compiled: CompiledWorkflow,
         doc: WDL.Tree.Document, inputs: dict[str, Any]) -> int:  # fmt: skip
    from ..aws import AwsBackendError, _fail
    from ..aws.outcome import report
    from ..aws.run import start_run, wait_for

    options = RunOptions(dir=Path("."), wait=True, verbose=request.verbose)
    try:
        started = start_run(rehearsal.stack, None, options, compiled, inputs, doc)
        description = wait_for(started.aws, started.arn, started.url, verbose=request.verbose,
                               scatters_of=started.scatters_of)  # fmt: skip
    except AwsBackendError as exn:
        return _fail(exn)
    if description["status"] != "SUCCEEDED":
        return report(started.aws, description, started.request, started.outputs,
                          started.url)  # fmt: skip
    return print_outputs(rehearsal, description, started)


def print_outputs(rehearsal: Any, description: dict[str, Any], started: Any) -> int:
    """``{"dir", "outputs"}`` as a local run prints it: the run folder on this machine, and the
    outputs uploaded to S3 (as ``run --backend aws`` prints them) with each file fetched from
    moto's S3 into the rehearsal folder, so they are paths on this machine too."""
    from ..aws.outcome import read_s3_json

    result = json.loads(description.get("output") or "{}")
    run_dir = rehearsal.local_path(str((result.get("final") or {}).get("dir", "")))
    prefix = f"s3://{started.outputs[RUN_BUCKET]}/runs/{started.request['run']['name']}"
    outputs = read_s3_json(started.aws, f"{prefix}/{RunStore.OUTPUTS}")
    fetched = _fetch_files(started.aws, outputs, rehearsal.folder / "outputs")
    print(json.dumps({"dir": run_dir, "outputs": fetched}, indent=2))
    return 0


def _fetch_files(aws_: Any, value: Any, folder: Path) -> Any:
    if isinstance(value, dict):
        return {k: _fetch_files(aws_, v, folder) for k, v in value.items()}
    if isinstance(value, list):
        return [_fetch_files(aws_, v, folder) for v in value]
    if isinstance(value, str) and value.startswith("s3://"):
        bucket, _, key = value[len("s3://") :].partition("/")
        target = folder / bucket / key
        target.parent.mkdir(parents=True, exist_ok=True)
        aws_.client("s3").download_file(bucket, key, str(target))
        return str(target)
    return value


def _usage(message: str) -> int:
    print(json.dumps({"error": "UsageError", "message": message}, indent=2))
    print(f"wdl2sfn: {message}", file=sys.stderr)
    return EXIT_USAGE
