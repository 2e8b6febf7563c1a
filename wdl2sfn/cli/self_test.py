"""`wdl2sfn self-test [--backend local|aws] [--gpu]`: run a small built-in workflow end to end
through `wdl2sfn run` and say what each part proved.

* default (``self_test.wdl``): names read from a file (a local file: on AWS it is shipped to S3
  and localized by the task), one greeting per name (a scatter), the greetings gathered into one
  file (a gather), that file read back (from S3 on AWS);
* ``--gpu`` (``self_test_gpu.wdl``): ``nvidia-smi`` in a ``gpu: true`` task; it passes only if
  the task saw a GPU.

stdout: ``{"checks": [{"check", "ok", "detail"}], "run": <what run printed>}``; stderr: one line
per check; exit 0 when every check passed, else 1 (the run's own failure exit status if it
failed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..backends.requests import CONTAINER_CHOICES, RunRef
from ..contract import GPU_QUEUE
from .options import Subparsers, backend_of, backend_options

NAMES = ["Alice", "Bob", "Carol"]


def add_parser(sub: Subparsers, main: Callable[[list[str]], int]) -> None:
    """``main`` runs the test workflow through `wdl2sfn run` (this module cannot import it)."""
    s = sub.add_parser("self-test", help="run the built-in test workflow end to end")
    s.add_argument("-d", "--dir", default=None)
    s.add_argument("--gpu", action="store_true", help="nvidia-smi in a gpu: true task instead")
    s.add_argument(
        "--container",
        choices=CONTAINER_CHOICES,
        default="host",
        help="(local) where the tasks run (default host: their image, ubuntu:22.04, comes from "
        "Docker Hub, which a machine with an engine may not reach; see `run --container`)",
    )
    backend_options(s)
    s.set_defaults(func=lambda args: self_test(args, main))


def self_test(args: argparse.Namespace, main: Callable[[list[str]], int]) -> int:
    """Run the workflow with ``main`` (stdout captured), check what it printed."""
    root = Path(args.dir or tempfile.mkdtemp(prefix="wdl2sfn-self-test-"))
    root.mkdir(parents=True, exist_ok=True)
    args.dir = str(root)  # where the run folder is, for the checks that read its histories
    wdl = Path(__file__).parent / ("self_test_gpu.wdl" if args.gpu else "self_test.wdl")
    argv = ["run", str(wdl), "--dir", str(root), "--backend", args.backend, "--no-cache"]
    if not args.gpu:
        names = root / "names.txt"
        names.write_text("\n".join(NAMES) + "\n")
        argv.append(f"names={names}")
    if args.backend != "aws":
        argv += ["--container", args.container]
    if args.backend == "aws":
        argv += ["--wait", "--stack", args.stack] + (
            ["--region", args.region] if args.region else []
        )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(argv)
    result = _parsed(printed.getvalue())
    checks = gpu_checks(result, args) if args.gpu else workflow_checks(result, args)
    if code != 0:
        checks.insert(0, {"check": "the run succeeded", "ok": False,
                          "detail": str((result or {}).get("summary", f"exit {code}"))})  # fmt: skip
    for check in checks:
        mark = "ok  " if check["ok"] else "FAIL"
        print(f"self-test: {mark} {check['check']}: {check['detail']}", file=sys.stderr)
    print(json.dumps({"checks": checks, "run": result}, indent=2))
    if code != 0:
        return code
    return 0 if all(c["ok"] for c in checks) else 1


def workflow_checks(result: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    outputs = (result or {}).get("outputs") or {}
    greetings = outputs.get("self_test.greetings") or []
    expected = [f"Hello, {name}!" for name in NAMES]
    report = _read(outputs.get("self_test.report"), args) if outputs else None
    return [
        _check("names read from a file", outputs.get("self_test.count") == len(NAMES),
               f"{outputs.get('self_test.count')} names of {len(NAMES)}"),
        _check("a scatter greeted each name", greetings == expected,
               f"{len(greetings)} shards: {', '.join(greetings)}"),
        _check("a gather wrote every greeting to one file",
               report is not None and report.splitlines() == expected,
               f"{outputs.get('self_test.report')}: {len((report or '').splitlines())} lines"),
    ]  # fmt: skip


def gpu_checks(result: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The check "with a GPU" is what the task saw, not what its job asked for: a machine without one
    runs the job anyway (with a warning), and the request alone must not pass the check."""
    info = str(((result or {}).get("outputs") or {}).get("self_test_gpu.info") or "")
    saw_gpu = bool(info) and not info.startswith("no GPU visible")
    queue, gpus = gpu_job(result, args)
    got = "" if saw_gpu or not gpus else " requested, none visible to the task"
    return [
        _check("the task ran on the GPU queue with a GPU", bool(queue) and gpus >= 1 and saw_gpu,
               f"job queue {queue or '?'}, {gpus:g} GPU{got}"),
        _check("a gpu: true task saw a GPU (nvidia-smi)", saw_gpu, info or "no output"),
    ]  # fmt: skip


def gpu_job(result: Any, args: argparse.Namespace) -> tuple[str | None, float]:
    """(the GPU queue the task's Batch job ran on, or None; its GPU requirement), from the
    run's histories: the job description its ``batch`` Task returned."""
    from ..runs.cost import _parsed as parsed
    from ..runs.cost import resources

    if not isinstance(result, dict) or not result.get("dir"):
        return None, 0.0
    run = str(result["dir"]).rstrip("/").rsplit("/", 1)[-1]
    backend = backend_of(args)
    events = backend.history_events(RunRef(run, Path(args.dir or ".")))
    gpu_queue = backend.queue_arn(GPU_QUEUE)
    for event in events:
        details = event.get("taskSucceededEventDetails") or {}
        job = parsed(details.get("output")) if details.get("resourceType") == "batch" else None
        if isinstance(job, dict) and str(job.get("JobName", "")).endswith("gpu_info"):
            queue = str(job.get("JobQueue", ""))
            return (queue if queue == gpu_queue else None), resources(job)[2]
    return None, 0.0


def _read(path: Any, args: argparse.Namespace) -> str | None:
    """A File output's text: a local path, or an s3:// URI (the run's upload, on AWS)."""
    if not isinstance(path, str):
        return None
    return backend_of(args).read_output(path)


def _check(what: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"check": what, "ok": bool(ok), "detail": detail}


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
