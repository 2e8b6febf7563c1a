"""The `wdl2sfn` command: compile, graph, run, self-test, list/status/logs.

Conventions follow miniwdl (`-i inputs.json`, `name=value`, `--dir`, outputs JSON on stdout,
`--verbose`) and miniwdl-aws-submit (`--follow`, `--wait`, `--s3upload`, `--delete-after`,
`--no-cache`, `--self-test`). Progress goes to stderr; stdout carries only JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import WDL

from . import __version__, wdl
from .compiler import CompiledWorkflow, CompileError, compile_document, ir
from .compiler.report import human_report

EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input detected before anything runs (exit 2)."""


# ---------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if (
        getattr(args, "command", None) == "run"
    ):  # name=value inputs may follow options, as in miniwdl
        args.inputs += [e for e in extra if "=" in e and not e.startswith("-")]
        extra = [e for e in extra if not ("=" in e and not e.startswith("-"))]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except UsageError as exn:
        return _fail_usage(str(exn))
    except KeyboardInterrupt:
        print("wdl2sfn: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wdl2sfn", description="WDL -> AWS Step Functions compiler and runner"
    )
    p.add_argument("--version", action="version", version=f"wdl2sfn {__version__}")
    sub = p.add_subparsers(dest="command")

    c = sub.add_parser("compile", help="compile WDL into an ASL state machine (JSON on stdout)")
    _compile_options(c)
    c.add_argument("-o", "--output", help="write the ASL JSON here instead of stdout")
    c.add_argument("--report", action="store_true", help="print the quota/cost report to stderr")
    c.add_argument("--report-json", metavar="FILE", help="write the report as JSON")
    c.set_defaults(func=cmd_compile)

    g = sub.add_parser("graph", help="draw the compiled state machine")
    _compile_options(g)
    g.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    g.add_argument("-o", "--output", help="write the picture here instead of stdout")
    g.set_defaults(func=cmd_graph)

    r = sub.add_parser("run", help="run a workflow (locally by default)")
    _compile_options(r)
    r.add_argument(
        "inputs", nargs="*", metavar="NAME=VALUE", help="workflow inputs, as miniwdl run"
    )
    r.add_argument("-i", "--input", "--inputs", dest="input_file", metavar="INPUTS.json")
    r.add_argument(
        "--backend", choices=("local", "aws"), default=os.environ.get("WDL2SFN_BACKEND", "local")
    )
    r.add_argument(
        "--dir",
        default=os.environ.get("WDL2SFN_DIR", "wdl2sfn_runs"),
        help="run store root (a new run folder is made under it)",
    )
    r.add_argument(
        "--no-cache", action="store_true", help="do not reuse (or record) call cache entries"
    )
    r.add_argument("--follow", action="store_true", help="(aws) follow the execution's progress")
    r.add_argument("--wait", action="store_true", help="(aws) wait for the execution to end")
    r.add_argument("--s3upload", metavar="URI", help="copy outputs and logs to this s3:// prefix")
    r.add_argument("--delete-after", choices=("always", "success", "failure"))
    r.add_argument(
        "--stack",
        default=os.environ.get("WDL2SFN_STACK", "wdl2sfn"),
        help="(aws) the deployed stack",
    )
    r.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument(
        "--copy-input-files", action="store_true", help="copy File inputs instead of linking"
    )
    r.add_argument(
        "--container",
        choices=("host", "docker", "podman"),
        default="host",
        help="(local) how jobs run",
    )
    r.add_argument(
        "--verbose", action="store_true", help="stream task stderr and every state event"
    )
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("self-test", help="run the built-in test workflow end to end")
    s.add_argument("--backend", choices=("local", "aws"), default="local")
    s.add_argument("--dir", default=None)
    s.set_defaults(func=cmd_self_test)

    ls = sub.add_parser("list", help="list local runs")
    ls.add_argument("--dir", default=os.environ.get("WDL2SFN_DIR", "wdl2sfn_runs"))
    ls.set_defaults(func=cmd_list)
    st = sub.add_parser("status", help="status of a local run")
    st.add_argument("run")
    st.add_argument("--dir", default=os.environ.get("WDL2SFN_DIR", "wdl2sfn_runs"))
    st.set_defaults(func=cmd_status)
    lg = sub.add_parser("logs", help="stderr of a run's calls")
    lg.add_argument("run")
    lg.add_argument("--dir", default=os.environ.get("WDL2SFN_DIR", "wdl2sfn_runs"))
    lg.set_defaults(func=cmd_logs)
    dp = sub.add_parser("deploy", help="(aws) create or update the workflow's state machine")
    _compile_options(dp)
    dp.add_argument("--stack", default=os.environ.get("WDL2SFN_STACK", "wdl2sfn"))
    dp.add_argument("--region", default=None)
    dp.add_argument("--role-arn", default=None, help="role for a new state machine")
    dp.set_defaults(func=cmd_deploy)
    sp = sub.add_parser("stop", help="(aws) stop an execution")
    sp.add_argument("run", metavar="EXECUTION_ARN")
    sp.add_argument("--region", default=None)
    sp.set_defaults(func=cmd_stop)
    return p


def _compile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("wdl", metavar="WF.wdl")
    p.add_argument("--filesystem", choices=("efs", "fsx"), default="efs")
    p.add_argument(
        "--max-concurrency", type=int, default=0, metavar="N", help="cap Batch jobs per scatter"
    )
    p.add_argument("--subworkflows", choices=("inline", "machine"), default="inline")
    p.add_argument(
        "--task",
        help="run/compile this task of a document (default: its workflow, or its only task)",
    )
    p.add_argument(
        "--max-definition-bytes",
        type=int,
        default=900_000,
        metavar="N",
        help="move pieces into child state machines past this size (AWS's limit is 1 MiB)",
    )


# ---------------------------------------------------------------------------- compile / graph


def load_document(path: str) -> WDL.Tree.Document:
    """Load WDL; a malformed file is a usage error whose last line is FILE:LINE:COL: message."""
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    try:
        doc = wdl.load(path)
        gc.freeze()  # the typed tree lives as long as the process: keep it out of GC passes
        return doc
    except wdl.SourceError as exn:  # its message names the file (and line) already
        raise UsageError(str(exn)) from exn
    except WDL.Error.MultipleValidationErrors as exn:
        first = exn.exceptions[0]
        raise UsageError(_located(first, path)) from exn
    except (WDL.Error.SyntaxError, WDL.Error.ValidationError, WDL.Error.ImportError) as exn:
        raise UsageError(_located(exn, path)) from exn


def _located(exn: BaseException, path: str) -> str:
    pos = getattr(exn, "pos", None)
    message = str(exn).splitlines()[0] if str(exn) else type(exn).__name__
    if pos is None:
        return f"{path}: {message}"
    return f"{pos.abspath if pos.abspath else path}:{pos.line}:{pos.column}: {message}"


def compile_args(args: argparse.Namespace) -> tuple[WDL.Tree.Document, CompiledWorkflow]:
    doc = load_document(args.wdl)
    if doc.workflow is None or args.task:
        doc = _task_as_workflow(doc, args.task)
    options = ir.Options(
        filesystem=args.filesystem,
        max_concurrency=args.max_concurrency,
        subworkflows=args.subworkflows,
        max_definition_bytes=args.max_definition_bytes,
    )
    try:
        return doc, compile_document(doc, options)
    except CompileError as exn:
        raise UsageError(str(exn)) from exn


def _task_as_workflow(doc: WDL.Tree.Document, name: str | None) -> WDL.Tree.Document:
    """A document without a workflow: run its task as a one-call workflow (as miniwdl run)."""
    from .compiler.task_wrapper import TaskSelectionError, pick_task, write_wrapper

    try:
        task = pick_task(doc, name)
    except TaskSelectionError as exn:
        raise UsageError(str(exn)) from exn
    return load_document(str(write_wrapper(doc, task)))


def cmd_compile(args: argparse.Namespace) -> int:
    _, compiled = compile_args(args)
    text = json.dumps(compiled.definition, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        for name, child in compiled.all_machines().items():
            Path(args.output).with_suffix(f".{name}.json").write_text(
                json.dumps(child.definition, indent=2) + "\n"
            )
    else:
        sys.stdout.write(text)
    if args.report:
        print(human_report(compiled.report), file=sys.stderr)
    if args.report_json:
        Path(args.report_json).write_text(json.dumps(compiled.report, indent=2) + "\n")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from .statemachine.graph import render

    _, compiled = compile_args(args)
    try:
        picture = render(compiled.definition, args.format)
    except RuntimeError as exn:
        raise UsageError(str(exn)) from exn
    if args.output:
        Path(args.output).write_text(picture)
    else:
        sys.stdout.write(picture)
    return 0


# ---------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    doc, compiled = compile_args(args)
    inputs = parse_inputs(doc, args.inputs, args.input_file)
    if args.backend == "aws":
        from .backends.aws import run_on_aws

        return run_on_aws(args, compiled, inputs)
    return run_locally(args, doc, compiled, inputs)


def parse_inputs(
    doc: WDL.Tree.Document, pairs: list[str], input_file: str | None
) -> dict[str, Any]:
    """Inputs exactly as `miniwdl run` takes them; errors name the input and what was expected."""
    if input_file:
        _check_json_file(input_file)
    try:
        return wdl.runner_inputs(doc, pairs, input_file)
    except WDL.Error.InputError as exn:
        raise UsageError(f"input error: {exn}") from exn
    except (WDL.Error.RuntimeError, ValueError, TypeError) as exn:
        raise UsageError(f"input error: {exn}") from exn


def _check_json_file(path: str) -> None:
    if not os.path.isfile(path):
        raise UsageError(f"{path}: inputs file not found")
    try:
        with open(path) as f:
            json.load(f)
    except json.JSONDecodeError as exn:
        raise UsageError(
            f"{path}:{exn.lineno}:{exn.colno}: inputs file is not valid JSON: {exn.msg}"
        ) from exn


def run_locally(
    args: argparse.Namespace,
    doc: WDL.Tree.Document,
    compiled: CompiledWorkflow,
    inputs: dict[str, Any],
) -> int:
    from .backends.local.runner import LocalBackend
    from .progress import Progress, scatters_of_calls
    from .runs import record_executor
    from .task_runner.init import write_bundle
    from .task_runner.store import RunStore

    root = Path(args.dir).resolve()
    run_name = new_run_name(root, compiled.name)
    record_executor(root / run_name)
    write_bundle(RunStore(root), compiled.digest, compiled.main, compiled.name, compiled.sources)
    request = {
        "inputs": inputs,
        "run": {
            "name": run_name,
            "no_cache": args.no_cache,
            "s3upload": args.s3upload,
            "delete_after": args.delete_after,
            "tags": dict(t.split("=", 1) for t in args.tag if "=" in t),
        },
    }
    machines = compiled.all_machines()
    progress = Progress(
        verbose=args.verbose,
        scatters_of=scatters_of_calls(
            [compiled.definition, *(m.definition for m in machines.values())]
        ),
    )
    backend = LocalBackend(
        root=root,
        runtime=args.container,
        copy_input_files=args.copy_input_files,
        on_event=progress.on_event,
        on_output=progress.on_output if args.verbose else None,
    )
    progress.running_jobs = backend.running_jobs
    children = {
        _local_machine_arn(name): _bind_children(child.definition, machines)
        for name, child in machines.items()
    }
    with progress:
        progress.note(f"run {root / run_name}")
        definition = _bind_children(compiled.definition, machines)
        outcome = backend.execute(definition, request, run_name, children, {compiled.digest: doc})
    return report_outcome(outcome.run_dir, outcome.result)


def _local_machine_arn(name: str) -> str:
    return f"arn:aws:states:local:000000000000:stateMachine:{name}"


def _bind_children(definition: dict[str, Any], machines: dict[str, Any]) -> dict[str, Any]:
    """Bind StateMachineArn_<name> placeholders of child machines to local pseudo-ARNs."""
    text = json.dumps(definition)
    for name in machines:
        text = text.replace("${StateMachineArn_" + name + "}", _local_machine_arn(name))
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


def report_outcome(run_dir: Path, result: Any) -> int:
    """Success: {"dir", "outputs"} on stdout. Failure: error JSON on stdout, one line on stderr,
    and the failed task's exit status as the exit status (as miniwdl)."""
    if result.status == "SUCCEEDED":
        outputs = json.loads((run_dir / "outputs.json").read_text())
        print(json.dumps({"dir": str(run_dir), "outputs": outputs}, indent=2))
        return 0
    from .failure import describe, error_json

    failure = describe(run_dir, result.error or "Error", result.cause or "")
    error = error_json(run_dir, result.status, failure)
    _write_json(run_dir / "error.json", error)
    print(json.dumps(error, indent=2))
    details = error.get("message", "")
    if details and "\n" in details:
        print(details, file=sys.stderr)
    print(f"wdl2sfn: {error['summary']}", file=sys.stderr)
    return EXIT_FAILED if result.status == "ABORTED" else failure.exit_code()


def _write_json(path: Path, obj: Any) -> None:
    from .task_runner.atomic import write_json_atomic

    write_json_atomic(path, obj)


# ---------------------------------------------------------------------------- self-test, list, status


def cmd_self_test(args: argparse.Namespace) -> int:
    import tempfile

    sample = Path(__file__).parent / "self_test.wdl"
    root = args.dir or tempfile.mkdtemp(prefix="wdl2sfn-self-test-")
    argv = ["run", str(sample), "--dir", root, "--backend", args.backend, "who=self-test"]
    return main(argv)


def cmd_list(args: argparse.Namespace) -> int:
    from .runs import list_runs

    print(json.dumps(list_runs(Path(args.dir)), indent=2))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .runs import run_summary

    print(json.dumps(run_summary(_run_dir(args)), indent=2))
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    run_dir = _run_dir(args)
    for log in sorted((run_dir / "calls").rglob("stderr.txt")):
        print(f"==> {log} <==", file=sys.stdout)
        sys.stdout.write(log.read_text(errors="replace"))
    return 0


def _run_dir(args: argparse.Namespace) -> Path:
    run_dir = Path(args.run) if Path(args.run).is_dir() else Path(args.dir) / args.run
    if not (run_dir / "run.json").exists():
        raise UsageError(f"{args.run}: no such run under {args.dir}")
    return run_dir


def cmd_deploy(args: argparse.Namespace) -> int:
    from .backends.aws import deploy_command

    return deploy_command(args, compile_args(args)[1])


def cmd_stop(args: argparse.Namespace) -> int:
    from .backends.aws import stop_command

    return stop_command(args)


def _fail_usage(message: str) -> int:
    print(json.dumps({"error": "UsageError", "message": message}), file=sys.stdout)
    print(message, file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
