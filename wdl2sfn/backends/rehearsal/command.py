"""``wdl2sfn rehearse``: serve a rehearsed account, or rehearse one workflow run end to end.

* ``wdl2sfn rehearse --serve [-c KEY=VALUE ...]`` prints one JSON line ``{"endpoint", "region",
  "stack", "folder"}`` and serves until interrupted; point ``AWS_ENDPOINT_URL`` at the endpoint.
* ``wdl2sfn rehearse WF.wdl [-i in.json] [name=value ...] [-c ...] [--dir D]`` serves, deploys
  with ``wdl2sfn deploy``'s code, starts with ``run --backend aws``'s code, waits, and prints the
  outputs JSON as ``run`` does (exit codes as ``run``), file paths as paths on this machine.
  The rehearsal folder (kept) is ``D/<timestamp>_<workflow>/``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

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


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", metavar="NAME=VALUE", help="workflow inputs, as run")
    p.add_argument("-i", "--input", "--inputs", dest="input_file", metavar="INPUTS.json")
    p.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE",
                   help="a CDK context key of the stack (e.g. -c variant=fsx)")  # fmt: skip
    p.add_argument("--serve", action="store_true", help="serve the account until interrupted")
    p.add_argument("--fire-schedules", action="store_true",
                   help="(--serve) start each Scheduler schedule's target once")  # fmt: skip
    p.add_argument("--dir", default=load_settings().rehearsal_dir,
                   help="rehearsal folders are made under it")  # fmt: skip
    p.add_argument("--port", type=int, default=0, help="(--serve) moto's port (default: any)")
    p.add_argument("--verbose", action="store_true")


def cmd_rehearse(args: argparse.Namespace) -> int:
    from .extra import RehearsalNotInstalled, require_rehearse_extra
    from .template import SynthError, parse_context

    try:
        require_rehearse_extra()
    except RehearsalNotInstalled as exn:
        return _usage(str(exn))
    try:
        context = parse_context(args.context)
    except SynthError as exn:
        return _usage(str(exn))
    if args.serve:
        return serve(args, context)
    if not args.wdl:
        return _usage("rehearse: give a workflow (WF.wdl) or --serve")
    return rehearse_run(args, context)


def _folder(args: argparse.Namespace, name: str) -> Path:
    root = Path(args.dir).resolve()
    stamp = time.strftime("%Y%m%d_%H%M%S")
    for n in range(1, 1000):
        folder = root / (f"{stamp}_{name}" if n == 1 else f"{stamp}_{name}_{n}")
        if not folder.exists():
            return folder
    raise RuntimeError(f"no free rehearsal folder under {root}")


def serve(args: argparse.Namespace, context: dict[str, Any]) -> int:
    from .service import Rehearsal
    from .template import SynthError

    try:
        rehearsal = Rehearsal(context, _folder(args, "serve"), port=args.port).start()
    except SynthError as exn:
        return _usage(str(exn))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print(json.dumps(rehearsal.describe()), flush=True)
        if args.fire_schedules:
            for arn in rehearsal.fire_schedules():
                print(f"wdl2sfn: schedule started {arn}", file=sys.stderr, flush=True)
        stop.wait()
    finally:
        rehearsal.close()
    return 0


def rehearse_run(args: argparse.Namespace, context: dict[str, Any]) -> int:
    """Everything `run` checks happens before the account is built (inputs, WDL)."""
    from ... import cli
    from .service import Rehearsal
    from .template import SynthError

    args.filesystem = "fsx" if context.get("variant") == "fsx" else "efs"
    doc, compiled = cli.compile_args(args)
    inputs = cli.parse_inputs(doc, args.inputs, args.input_file)
    folder = _folder(args, compiled.name)
    try:
        rehearsal = Rehearsal(context, folder).start()
    except SynthError as exn:
        return _usage(str(exn))
    try:
        _point_at(rehearsal)
        return _run(args, rehearsal, compiled, doc, inputs)
    finally:
        rehearsal.close()
        print(f"wdl2sfn: rehearsal folder {folder}", file=sys.stderr)


def _point_at(rehearsal: Any) -> None:
    for name in AWS_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(rehearsal.environment())
    os.environ.setdefault(Settings.variable("poll_seconds"), "0.5")


def _run(args: argparse.Namespace, rehearsal: Any, compiled: Any, doc: Any,
         inputs: dict[str, Any]) -> int:  # fmt: skip
    from ..aws import AwsBackendError, _fail
    from ..aws.outcome import report
    from ..aws.run import start_run, wait_for

    run_args = argparse.Namespace(
        stack=rehearsal.stack, region=None, wait=True, follow=False, verbose=args.verbose,
        s3upload=None, delete_after=None, no_cache=False, tag=[],
    )  # fmt: skip
    try:
        started = start_run(run_args, compiled, inputs, doc)
        description = wait_for(started, run_args)
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
