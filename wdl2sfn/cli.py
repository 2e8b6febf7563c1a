"""The `wdl2sfn` command: compile, graph, run, self-test, list/status/logs.

Conventions follow miniwdl (`-i inputs.json`, `name=value`, `--dir`, outputs JSON on stdout,
`--verbose`) and miniwdl-aws-submit (`--follow`, `--wait`, `--s3upload`, `--delete-after`,
`--no-cache`, `--self-test`). Progress goes to stderr; stdout carries only JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .run_options import add_run_arguments, check_writable_file, default_dir
from .usage import UsageError

if TYPE_CHECKING:  # miniwdl and the compiler are imported by the commands that use them
    import WDL

    from .compiler import CompiledWorkflow

EXIT_FAILED = 1
EXIT_USAGE = 2


# ---------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "command", None) in (
        "run",
        "rehearse",
    ):  # name=value inputs may follow options, as in miniwdl
        args.inputs += [e for e in extra if "=" in e and not e.startswith("-")]
        extra = [e for e in extra if not ("=" in e and not e.startswith("-"))]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a closed pipe fails here, inside the handler, not at exit
        return code
    except BrokenPipeError:
        return _closed_stdout()


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command; every failure ends as one line on stderr (a traceback only with
    --debug)."""
    try:
        return int(args.func(args))
    except UsageError as exn:
        return _fail_usage(str(exn))
    except KeyboardInterrupt:
        print("wdl2sfn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except Exception as exn:
        if getattr(args, "debug", False) or getattr(args, "debug_all", False):
            raise
        return _fail_unexpected(exn)


def _closed_stdout() -> int:
    """The reader of stdout went away (`wdl2sfn status RUN | head`): stop quietly, as cat does."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE


def _fail_unexpected(exn: Exception) -> int:
    """An error nobody planned for: one line naming it, and how to see more."""
    what = f"{type(exn).__name__}: {exn}" if str(exn) else type(exn).__name__
    if isinstance(exn, OSError) and exn.filename:
        what = f"{exn.filename}: {exn.strerror}"
    print(f"wdl2sfn: {what} (internal error; run with --debug for the traceback)", file=sys.stderr)
    return EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wdl2sfn", description="WDL -> AWS Step Functions compiler and runner"
    )
    p.add_argument("--version", action="version", version=f"wdl2sfn {__version__}")
    p.add_argument(
        "--debug", dest="debug_all", action="store_true", help="tracebacks for unexpected errors"
    )
    sub = p.add_subparsers(dest="command")
    _compile_parser(sub)
    _graph_parser(sub)
    _run_parser(sub)
    _check_parser(sub)
    _input_template_parser(sub)
    _self_test_parser(sub)
    _run_store_parsers(sub)
    _outputs_parser(sub)
    _files_parser(sub)
    _resume_parser(sub)
    _cost_parser(sub)
    _deploy_parser(sub)
    _rehearse_parser(sub)
    _stop_parser(sub)
    return p


def _compile_parser(sub: Any) -> None:
    c = sub.add_parser("compile", help="compile WDL into an ASL state machine (JSON on stdout)")
    _compile_options(c)
    c.add_argument("-o", "--output", help="write the ASL JSON here instead of stdout")
    c.add_argument("--report", action="store_true", help="print the quota/cost report to stderr")
    c.add_argument("--report-json", metavar="FILE", help="write the report as JSON")
    _scatter_width_option(c)
    c.set_defaults(func=cmd_compile)


def _graph_parser(sub: Any) -> None:
    g = sub.add_parser("graph", help="draw the compiled state machine")
    _compile_options(g)
    g.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    g.add_argument("-o", "--output", help="write the picture here instead of stdout")
    g.set_defaults(func=cmd_graph)


def _run_parser(sub: Any) -> None:
    """`run`: value_options lets `key=value` inputs be told from options that take a value."""
    r = sub.add_parser(
        "run",
        help="run a workflow (locally by default)",
        description="Run a workflow (or a lone task). Each run gets a timestamped folder under "
        "--dir (default: $WDL2SFN_DIR, else the current directory, as miniwdl), with a "
        "`rerun` script, `out/` links to the outputs, and the run's logs and history.",
    )
    _compile_options(r)
    add_run_arguments(r)
    r.set_defaults(
        func=cmd_run,
        value_options=frozenset(o for a in r._actions if a.nargs != 0 for o in a.option_strings),
    )


def _check_parser(sub: Any) -> None:
    ck = sub.add_parser(
        "check", help="check a WDL document: miniwdl's outline and lint, then the compile report"
    )
    _compile_options(ck)
    ck.add_argument(
        "--strict", action="store_true", help="exit 2 if any lint warning is shown (as miniwdl)"
    )
    _scatter_width_option(ck)
    ck.set_defaults(func=cmd_check)


def _input_template_parser(sub: Any) -> None:
    it = sub.add_parser("input-template", help="print a JSON template of the required inputs")
    it.add_argument("wdl", metavar="WF.wdl")
    it.add_argument("-p", "--path", metavar="DIR", action="append", default=[])
    it.add_argument("--task", help="a task of the document instead of its workflow")
    it.add_argument("--no-quant-check", dest="check_quant", action="store_false")
    it.set_defaults(func=cmd_input_template)


def _self_test_parser(sub: Any) -> None:
    s = sub.add_parser("self-test", help="run the built-in test workflow end to end")
    s.add_argument("-d", "--dir", default=None)
    s.add_argument("--gpu", action="store_true", help="nvidia-smi in a gpu: true task instead")
    _backend_options(s)
    s.set_defaults(func=cmd_self_test)


def _run_store_parsers(sub: Any) -> None:
    """`list`, `status RUN`, `logs RUN`: what is in the run store (or on AWS)."""
    ls = sub.add_parser("list", help="list runs (local, or --backend aws)")
    ls.add_argument("-d", "--dir", default=None, help="where runs are (default: $WDL2SFN_DIR or .)")
    _backend_options(ls)
    ls.set_defaults(func=cmd_list)
    st = sub.add_parser("status", help="status of a run (local, or --backend aws)")
    st.add_argument("run")
    st.add_argument("-d", "--dir", default=None, help="where runs are (default: $WDL2SFN_DIR or .)")
    _backend_options(st)
    st.set_defaults(func=cmd_status)
    lg = sub.add_parser("logs", help="stderr of a run's calls (aws: their CloudWatch streams)")
    lg.add_argument("run")
    lg.add_argument("-d", "--dir", default=None, help="where runs are (default: $WDL2SFN_DIR or .)")
    _backend_options(lg)
    lg.set_defaults(func=cmd_logs)


def _deploy_parser(sub: Any) -> None:
    dp = sub.add_parser("deploy", help="(aws) create or update the workflow's state machine")
    _compile_options(dp)
    dp.add_argument("--stack", default=os.environ.get("WDL2SFN_STACK", "wdl2sfn"))
    dp.add_argument("--region", default=None)
    dp.add_argument("--role-arn", default=None, help="role for a new state machine")
    dp.add_argument(
        "--rollback",
        action="store_true",
        help="point the alias 'live' back at the previous version (nothing is deployed)",
    )
    dp.set_defaults(func=cmd_deploy)


def _stop_parser(sub: Any) -> None:
    sp = sub.add_parser("stop", help="(aws) stop a run and terminate its Batch jobs")
    sp.add_argument("run", metavar="RUN", help="execution ARN or run name")
    _backend_options(sp, default="aws", choices=("aws",))
    sp.set_defaults(func=cmd_stop)


def _backend_options(
    p: argparse.ArgumentParser, default: str = "local", choices: tuple[str, ...] = ("local", "aws")
) -> None:
    """--backend, and where an AWS run is: --stack, --region."""
    p.add_argument("--backend", choices=choices, default=default)
    p.add_argument("--stack", default=os.environ.get("WDL2SFN_STACK", "wdl2sfn"), help="(aws)")
    p.add_argument("--region", default=None, help="(aws) the region")


def _resume_parser(sub: Any) -> None:
    """`resume RUN`: a failed run again, from where it failed (docs/aws-backend.md)."""
    rs = sub.add_parser(
        "resume",
        help="resume a failed run (aws: RedriveExecution, else a new execution with the cache; "
        "local: run again with the call cache)",
    )
    rs.add_argument("run", help="run name, run folder, or (aws) execution ARN")
    rs.add_argument("-d", "--dir", default=None, help="where runs are (default: $WDL2SFN_DIR or .)")
    _backend_options(rs)
    rs.add_argument("--wait", action="store_true", help="(aws) wait for the end")
    rs.add_argument("--follow", action="store_true", help="(aws) show progress until the end")
    rs.add_argument("--verbose", action="store_true")
    rs.set_defaults(func=cmd_resume)


def _cost_parser(sub: Any) -> None:
    """`cost RUN`: what a run cost, beside a miniwdl-aws engine job (docs/cost.md)."""
    cp = sub.add_parser("cost", help="what a run cost (transitions, Lambda, Batch) vs miniwdl-aws")
    cp.add_argument("run", help="run name, run folder, or (aws) execution ARN")
    cp.add_argument("-d", "--dir", default=None, help="where runs are (default: $WDL2SFN_DIR or .)")
    _backend_options(cp)
    cp.set_defaults(func=cmd_cost)


def _outputs_parser(sub: Any) -> None:
    """`outputs RUN [--get DEST]`: a run's outputs JSON; on AWS, downloaded with --get."""
    op = sub.add_parser("outputs", help="a run's outputs (aws: from S3; --get downloads them)")
    op.add_argument("run")
    op.add_argument("-d", "--dir", default=None, help="where runs are (default: $WDL2SFN_DIR or .)")
    op.add_argument("--get", metavar="DEST", help="(aws) download the run's outputs and logs here")
    _backend_options(op)
    op.set_defaults(func=cmd_outputs)


def _files_parser(sub: Any) -> None:
    """`files RUN [PATH] [-r] [--get DEST]`: a run folder, listed or fetched (aws: by a job)."""
    fp = sub.add_parser(
        "files", help="list or fetch files of a run folder (aws: on EFS/FSx, via a runner job)"
    )
    fp.add_argument("run")
    fp.add_argument(
        "path",
        nargs="?",
        default="",
        help="a file or folder inside the run folder (default: its top; -r for everything)",
    )
    fp.add_argument("-r", "--recursive", action="store_true", help="list whole subfolders")
    fp.add_argument("-d", "--dir", default=None, help="where runs are (default: $WDL2SFN_DIR or .)")
    fp.add_argument("--get", metavar="DEST", help="copy the file or folder to DEST/<run>/...")
    _backend_options(fp)
    fp.set_defaults(func=cmd_files)


def _rehearse_parser(sub: Any) -> None:
    """`rehearse`: the stack's own wiring, run on this machine (docs/rehearsal.md)."""
    from .backends.rehearsal.command import add_arguments

    rh = sub.add_parser("rehearse", help="run the AWS stack's wiring on this machine (moto)")
    _compile_options(rh, wdl_optional=True)
    add_arguments(rh)
    rh.set_defaults(func=cmd_rehearse)


def cmd_rehearse(args: argparse.Namespace) -> int:
    from .backends.rehearsal.command import cmd_rehearse as rehearse

    return rehearse(args)


def _scatter_width_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scatter-width",
        action="append",
        default=[],
        metavar="[NAME=]N",
        help="price the report's run with scatter NAME (its variable) N wide, or every scatter "
        "if no NAME (default: 100 each; repeatable)",
    )


def _compile_options(p: argparse.ArgumentParser, wdl_optional: bool = False) -> None:
    if wdl_optional:
        p.add_argument("wdl", metavar="WF.wdl", nargs="?")
    else:
        p.add_argument("wdl", metavar="WF.wdl")
    p.add_argument(
        "-p",
        "--path",
        metavar="DIR",
        action="append",
        default=[],
        help="folder to search for imports (can be given several times), as miniwdl",
    )
    p.add_argument(
        "--filesystem",
        choices=("efs", "fsx"),
        default=None,
        help="efs (default) or fsx; on AWS (deploy, run --backend aws) the stack's, when not given",
    )
    p.add_argument(
        "--max-concurrency", type=int, default=0, metavar="N", help="cap Batch jobs per scatter"
    )
    p.add_argument("--subworkflows", choices=("inline", "machine"), default="inline")
    p.add_argument(
        "--no-quant-check",
        dest="check_quant",
        action="store_false",
        help="relax optional/non-optional type checks (as miniwdl's --no-quant-check)",
    )
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


def load_document(
    path: str, search: list[str] | None = None, check_quant: bool = True
) -> WDL.Tree.Document:
    """Load WDL; a malformed file is a usage error whose last line is FILE:LINE:COL: message."""
    import WDL

    from . import wdl

    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    for folder in search or []:
        if not os.path.isdir(folder):
            raise UsageError(f"-p {folder}: no such folder")
    try:
        doc = wdl.load(path, search, check_quant)
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
    from .compiler import CompileError, compile_document, ir

    doc = load_document(args.wdl, getattr(args, "path", None), args.check_quant)
    if doc.workflow is None or args.task:
        doc = _task_as_workflow(doc, args.task, args.check_quant)
    options = ir.Options(
        check_quant=args.check_quant,
        filesystem=_filesystem(args),
        max_concurrency=args.max_concurrency,
        subworkflows=args.subworkflows,
        max_definition_bytes=args.max_definition_bytes,
    )
    try:
        return doc, compile_document(doc, options)
    except CompileError as exn:
        raise UsageError(str(exn)) from exn


def _filesystem(args: argparse.Namespace) -> str:
    """``--filesystem``; else, for a deployed stack, the stack's own (an FSx stack has no step
    functions); else EFS."""
    if getattr(args, "filesystem", None):
        return str(args.filesystem)
    if getattr(args, "backend", None) == "aws" or getattr(args, "command", None) == "deploy":
        from .backends.aws import stack_filesystem

        return stack_filesystem(getattr(args, "region", None), args.stack)
    return "efs"


def _task_as_workflow(
    doc: WDL.Tree.Document, name: str | None, check_quant: bool = True
) -> WDL.Tree.Document:
    """A document without a workflow: run its task as a one-call workflow (as miniwdl run)."""
    from .compiler.task_wrapper import TaskSelectionError, pick_task, write_wrapper

    try:
        task = pick_task(doc, name)
    except TaskSelectionError as exn:
        raise UsageError(str(exn)) from exn
    return load_document(str(write_wrapper(doc, task)), check_quant=check_quant)


def cmd_compile(args: argparse.Namespace) -> int:
    if args.output:
        check_writable_file(args.output, "-o")
    if args.report_json:
        check_writable_file(args.report_json, "--report-json")
    from .compiler.asl import definition_text
    from .compiler.report import human_report

    _, compiled = compile_args(args)
    report = report_at_widths(compiled.report, args.scatter_width)
    if args.output:  # exactly what deploy sends (the report's definition_bytes measure it)
        Path(args.output).write_text(definition_text(compiled.definition))
        for name, child in compiled.all_machines().items():
            Path(args.output).with_suffix(f".{name}.json").write_text(
                definition_text(child.definition)
            )
    else:
        _refuse_dropping_children(compiled)
        sys.stdout.write(json.dumps(compiled.definition, indent=2) + "\n")
    if args.report:
        print(human_report(report), file=sys.stderr)
    if args.report_json:
        Path(args.report_json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def report_at_widths(report: dict[str, Any], values: list[str]) -> dict[str, Any]:
    """The report with its run priced at the --scatter-width values (`N` or `NAME=N`)."""
    from .compiler.report import with_widths

    names = [w["name"] for w in report["run_cost"]["widths"]]
    given: dict[str, int] = {}
    for value in values:
        name, _, number = value.rpartition("=")
        if not number.isdigit() or int(number) < 1:
            raise UsageError(f"--scatter-width {value}: expected N or NAME=N, N a whole number ≥ 1")
        matches = [n for n in names if not name or name in (n, n.split("@")[0])]
        if not matches:
            known = ", ".join(names) or "none"
            raise UsageError(
                f"--scatter-width {value}: no scatter named {name} (scatters: {known})"
            )
        given.update(dict.fromkeys(matches, int(number)))
    if not given:
        return report
    return {**report, "run_cost": with_widths(report["run_cost"], given)}


def _refuse_dropping_children(compiled: CompiledWorkflow) -> None:
    """stdout holds one JSON document: a workflow compiled to several state machines
    (--subworkflows machine, or split past --max-definition-bytes) needs -o for the others."""
    children = sorted(compiled.all_machines())
    if children:
        raise UsageError(
            f"{compiled.name} compiles to {len(children) + 1} state machines (children: "
            f"{', '.join(children)}): give -o FILE to write them all (FILE and FILE.<child>.json)"
        )


def cmd_graph(args: argparse.Namespace) -> int:
    from .compiler.graph import render

    if args.output:
        check_writable_file(args.output, "-o")
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


def cmd_check(args: argparse.Namespace) -> int:
    """miniwdl check (outline, lint warnings) plus what the compiler makes of the workflow."""
    from . import wdl
    from .compiler.report import human_report

    doc = load_document(args.wdl, args.path, args.check_quant)
    outline, warnings = wdl.lint_outline(doc, os.path.basename(args.wdl))
    sys.stdout.write(outline)
    _, compiled = compile_args(args)
    print()
    print(human_report(report_at_widths(compiled.report, args.scatter_width)))
    if args.strict and warnings:
        print(f"wdl2sfn: {warnings} lint warning(s) shown (--strict)", file=sys.stderr)
        return EXIT_USAGE
    return 0


def cmd_input_template(args: argparse.Namespace) -> int:
    """miniwdl input-template: the required inputs, with placeholder values."""
    from . import wdl
    from .compiler.task_wrapper import TaskSelectionError, pick_task

    doc = load_document(args.wdl, args.path, args.check_quant)
    exe: WDL.Tree.Workflow | WDL.Tree.Task | None = doc.workflow
    if exe is None or args.task:
        try:
            exe = pick_task(doc, args.task)
        except TaskSelectionError as exn:
            raise UsageError(str(exn)) from exn
    print(json.dumps(wdl.input_template(exe), indent=2))
    return 0


# ---------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    from .run_options import read_inputs_argument, validate

    validate(args)
    doc, compiled = compile_args(args)
    inputs = parse_inputs(doc, args.inputs, read_inputs_argument(args.input_file))
    if args.backend == "aws":
        from .backends.aws.run import run_on_aws

        return run_on_aws(args, compiled, inputs, doc)
    return run_locally(args, doc, compiled, inputs)


def parse_inputs(
    doc: WDL.Tree.Document, pairs: list[str], inputs_json: str | None
) -> dict[str, Any]:
    """Inputs exactly as `miniwdl run` takes them; errors name the input and what was expected."""
    import WDL

    from . import wdl

    try:
        return wdl.runner_inputs(doc, pairs, inputs_json)
    except WDL.Error.InputError as exn:
        raise UsageError(f"input error: {exn}") from exn
    except (WDL.Error.RuntimeError, ValueError, TypeError) as exn:
        raise UsageError(f"input error: {_input_value_error(doc, pairs, exn)}") from exn


def _input_value_error(doc: WDL.Tree.Document, pairs: list[str], exn: Exception) -> str:
    """miniwdl's coercion errors ("invalid literal for int()...") do not name the input: find
    the NAME=VALUE whose value the message quotes, and say what its type wants."""
    text = str(exn)
    exe = doc.workflow or (doc.tasks[0] if len(doc.tasks) == 1 else None)
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not value or f"'{value}'" not in text:
            continue
        local = name.split(".", 1)[1] if exe and name.startswith(exe.name + ".") else name
        expected = ""
        if exe is not None and exe.available_inputs.has_binding(local):
            expected = f"expected {exe.available_inputs[local].type}, "
        return f"input {name}: {expected}got {value!r} ({text})"
    return text


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
    _write_rerun(root / run_name, args)
    write_bundle(RunStore(root), compiled.digest, compiled.main, compiled.name, compiled.sources)
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
        strict_resources=args.strict_resources,
        as_me=args.as_me,
    )
    progress.running_jobs = backend.running_jobs
    children = {
        _local_machine_arn(name): _bind_children(child.definition, machines)
        for name, child in machines.items()
    }
    with progress, _warnings_to(progress):
        progress.note(f"run {root / run_name}")
        definition = _bind_children(compiled.definition, machines)
        outcome = backend.execute(
            definition,
            run_request(args, inputs, run_name),
            run_name,
            children,
            {compiled.digest: doc},
        )
    return report_outcome(outcome.run_dir, outcome.result, args.output_file)


def run_request(args: argparse.Namespace, inputs: dict[str, Any], run_name: str) -> dict[str, Any]:
    """The execution input (DESIGN "Execution input"), with this CLI's run options."""
    run: dict[str, Any] = {
        "name": run_name,
        "no_cache": args.no_cache,
        "s3upload": args.s3upload,
        "delete_after": args.delete_after,
        "tags": dict(t.split("=", 1) for t in args.tag),
    }
    if args.env_values:
        run["env"] = args.env_values
    if args.runtime_defaults_values:
        run["runtime_defaults"] = args.runtime_defaults_values
    return {"inputs": inputs, "run": run}


def _write_rerun(run_dir: Path, args: argparse.Namespace) -> None:
    from .run_options import write_rerun

    write_rerun(run_dir, args.argv, args.wdl, args.value_options)


class _warnings_to:
    """Warnings of the local Batch (a task clamped to the machine, a GPU missing) shown with
    the progress, where the user looks, not only in the job's log."""

    def __init__(self, progress: Any) -> None:
        import logging

        self.logger = logging.getLogger("wdl2sfn.backends.local.batch")
        self.progress = progress
        self.handler = logging.Handler(logging.WARNING)
        self.handler.emit = lambda record: progress.note(  # type: ignore[method-assign]
            f"warning: {record.getMessage().removeprefix('local Batch: ')}"
        )

    def __enter__(self) -> _warnings_to:
        self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)


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


def report_outcome(run_dir: Path, result: Any, output_file: str | None = None) -> int:
    """Success: {"dir", "outputs"} on stdout (or -o FILE). Failure: the error JSON there, one
    line on stderr, and the failed task's exit status as the exit status (as miniwdl)."""
    if result.status == "SUCCEEDED":
        outputs = json.loads((run_dir / "outputs.json").read_text())
        _emit_json({"dir": str(run_dir), "outputs": outputs}, output_file)
        return 0
    from .failure import describe, error_json

    failure = describe(run_dir, result.error or "Error", result.cause or "")
    error = error_json(run_dir, result.status, failure)
    _write_json(run_dir / "error.json", error)
    _emit_json(error, output_file)
    details = error.get("message", "")
    if details and "\n" in details:
        print(details, file=sys.stderr)
    print(f"wdl2sfn: {error['summary']}", file=sys.stderr)
    return EXIT_FAILED if result.status == "ABORTED" else failure.exit_code()


def _emit_json(doc: Any, output_file: str | None) -> None:
    text = json.dumps(doc, indent=2)
    if output_file:
        Path(output_file).write_text(text + "\n")
    else:
        print(text)


def _write_json(path: Path, obj: Any) -> None:
    from .task_runner.atomic import write_json_atomic

    write_json_atomic(path, obj)


# ---------------------------------------------------------------------------- self-test, list, status


def cmd_self_test(args: argparse.Namespace) -> int:
    from .self_test import self_test

    return self_test(args)


def _on_aws(args: argparse.Namespace) -> int:
    from .backends.aws.runs import command

    return command(args)


def cmd_resume(args: argparse.Namespace) -> int:
    """AWS: RedriveExecution where allowed, else a new execution reusing the call cache. Local:
    the run's `rerun` command again (same inputs and options), with the call cache on."""
    if args.backend == "aws" or str(args.run).startswith("arn:"):
        from .backends.aws.resume import resume

        return resume(args)
    import shlex

    rerun = _run_dir(args) / "rerun"
    if not rerun.is_file():
        raise UsageError(f"{args.run}: no rerun script in the run folder (made by `wdl2sfn run`)")
    words = shlex.split(rerun.read_text().splitlines()[-1])
    folder, argv = words[1], words[words.index("wdl2sfn.cli") + 1 : -1]
    argv = [a for a in argv if a != "--no-cache"]
    print(f"wdl2sfn: resuming {args.run}: running it again with the call cache", file=sys.stderr)
    os.chdir(folder)
    return main(argv)


def cmd_cost(args: argparse.Namespace) -> int:
    """Measured from the run's execution histories, priced as docs/cost.md says."""
    if args.backend == "aws" or str(args.run).startswith("arn:"):
        return _on_aws(args)
    from .cost import measure, priced
    from .failure import execution_histories
    from .runs import run_status
    from .statemachine.history import read_events

    run_dir = _run_dir(args)
    usage = measure(read_events(h) for h in execution_histories(run_dir))
    answer = {"run": run_dir.name, "dir": str(run_dir), "status": run_status(run_dir)}
    print(json.dumps({**answer, **priced(usage)}, indent=2))
    return 0


def cmd_outputs(args: argparse.Namespace) -> int:
    if args.backend == "aws":
        return _on_aws(args)
    if args.get:
        raise UsageError("--get: a local run's outputs are already here (see its out/ folder)")
    run_dir = _run_dir(args)
    if not (run_dir / "outputs.json").exists():
        raise UsageError(f"{args.run}: no outputs (`wdl2sfn status {args.run}` says why)")
    outputs = json.loads((run_dir / "outputs.json").read_text())
    print(json.dumps({"dir": str(run_dir), "outputs": outputs}, indent=2))
    return 0


def cmd_files(args: argparse.Namespace) -> int:
    if args.backend == "aws":
        return _on_aws(args)
    from .task_runner import files
    from .task_runner.store import RunStore

    run_dir = _run_dir(args)
    try:
        _, target = files.target_path(RunStore(run_dir.parent), run_dir.name, args.path)
        answer = files.listing(run_dir, target, args.recursive)
        if args.get:
            dest = Path(args.get).resolve() / run_dir.name
            answer["downloaded"] = files.copy_files(run_dir, target, dest)
    except files.FilesError as exn:
        raise UsageError(str(exn)) from None
    print(json.dumps({"run": run_dir.name, "path": args.path or ".", **answer}, indent=2))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    if args.backend == "aws":
        return _on_aws(args)
    from .runs import list_runs

    print(json.dumps(list_runs(Path(args.dir or default_dir())), indent=2))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    if args.backend == "aws":
        return _on_aws(args)
    from .runs import run_summary

    print(json.dumps(run_summary(_run_dir(args)), indent=2))
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    if args.backend == "aws":
        return _on_aws(args)
    run_dir = _run_dir(args)
    for log in sorted((run_dir / "calls").rglob("stderr.txt")):
        print(f"==> {log} <==", file=sys.stdout)
        sys.stdout.write(log.read_text(errors="replace"))
    return 0


def _run_dir(args: argparse.Namespace) -> Path:
    root = Path(args.dir or default_dir())
    run_dir = Path(args.run) if Path(args.run).is_dir() else root / args.run
    if not (run_dir / "run.json").exists():
        raise UsageError(f"{args.run}: no such run under {root}")
    return run_dir


def cmd_deploy(args: argparse.Namespace) -> int:
    from .backends.aws.deploy import deploy_command

    return deploy_command(args, compile_args(args)[1])


def cmd_stop(args: argparse.Namespace) -> int:
    if str(args.run).startswith("arn:") and not args.region:
        args.region = str(args.run).split(":")[3]
    return _on_aws(args)


def _fail_usage(message: str) -> int:
    print(json.dumps({"error": "UsageError", "message": message}), file=sys.stdout)
    print(message, file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
