"""`wdl2sfn run`'s options: miniwdl's names and meanings, checked before anything runs.

A miniwdl user's habits carry over (`-d/--dir`, `-i` from a file, stdin, inline JSON or a
process substitution, `-o`, `--error-json`, `-v`, `--env`, `--runtime-defaults`,
`--copy-input-files`, `--as-me`, `--debug`, `-p`). Every option is validated here, before the
workflow runs, so a typo costs nothing: a bad `--s3upload` is found by asking S3, not by a failed
upload at the end of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from ..backends.errors import UsageError
from ..backends.requests import CONTAINER_CHOICES, RunOptions
from ..contract.execution import ExecutionInputError, parse_tags
from ..contract.settings import load_settings

AWS_ONLY = ("follow", "wait", "stack", "region")
DEFAULT_STACK = "wdl2sfn"


def default_dir() -> str:
    """Where runs go: $WDL2SFN_DIR, else the current directory (as miniwdl)."""
    return load_settings().dir or "."


def add_run_arguments(r: argparse.ArgumentParser) -> None:
    """The run command's options (compile options and -p are added by the caller)."""
    _input_arguments(r)
    _aws_arguments(r)
    _job_arguments(r)
    _output_arguments(r)
    r.add_argument("--debug", action="store_true", help="tracebacks for unexpected errors")


def _input_arguments(r: argparse.ArgumentParser) -> None:
    """What runs where: inputs, backend, run folder, call cache."""
    r.add_argument(
        "inputs", nargs="*", metavar="NAME=VALUE", help="workflow inputs, as miniwdl run"
    )
    r.add_argument(
        "-i",
        "--input",
        "--inputs",
        dest="input_file",
        metavar="INPUTS",
        help="inputs JSON: a file (any readable path, e.g. <(...)), - for stdin, or inline "
        "JSON such as '{\"wf.x\": 5}'",
    )
    r.add_argument("--backend", choices=("local", "aws"), default=load_settings().backend)
    r.add_argument(
        "-d",
        "--dir",
        default=None,
        help="folder under which the run's own timestamped folder is made (default: "
        "$WDL2SFN_DIR, else the current directory, as miniwdl); the call cache goes to "
        "its _CACHE/",
    )
    r.add_argument(
        "--no-cache", action="store_true", help="do not reuse (or record) call cache entries"
    )


def _aws_arguments(r: argparse.ArgumentParser) -> None:
    """miniwdl-aws-submit's options: following, S3 upload, the stack."""
    r.add_argument("--follow", action="store_true", help="(aws) follow the execution's progress")
    r.add_argument("--wait", action="store_true", help="(aws) wait for the execution to end")
    r.add_argument("--s3upload", metavar="URI", help="copy outputs and logs to this s3:// prefix")
    r.add_argument("--delete-after", choices=("always", "success", "failure"))
    r.add_argument(
        "--stack",
        default=None,
        help="(aws) the deployed stack (default: $WDL2SFN_STACK or wdl2sfn)",
    )
    r.add_argument(
        "--region", default=None, help="(aws) the region (default: AWS_REGION / AWS_DEFAULT_REGION)"
    )
    r.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")


def _job_arguments(r: argparse.ArgumentParser) -> None:
    """How tasks run: files, containers, environment, runtime defaults, resources."""
    r.add_argument(
        "--copy-input-files",
        action="store_true",
        help="copy File inputs into each call instead of linking them (tasks may then modify them)",
    )
    r.add_argument(
        "--container",
        choices=CONTAINER_CHOICES,
        default=None,
        help="(local) run each task in its image with docker or podman, or as a host process "
        "(the image ignored); auto (default: $WDL2SFN_CONTAINER, else auto) takes the engine "
        "that answers, else the host",
    )
    r.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="set (NAME=VALUE) or pass through (NAME) an environment variable to every task",
    )
    r.add_argument(
        "--runtime-defaults",
        metavar="JSON",
        help="runtime settings for tasks that do not set them: a JSON file or an inline object "
        "such as '{\"maxRetries\": 2}'",
    )
    r.add_argument(
        "--as-me",
        action="store_true",
        help="(local) run containers as the invoking uid:gid (host jobs always do)",
    )
    r.add_argument(
        "--strict-resources",
        action="store_true",
        help="(local) refuse a task asking more CPU/memory than this machine has, instead of "
        "running it clamped to the machine with a warning",
    )


def _output_arguments(r: argparse.ArgumentParser) -> None:
    """What the user sees: progress, the outputs JSON and where it goes."""
    r.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="stream tasks' stderr and print each call's progress (submitted, done, cached, "
        "failed) instead of the live view",
    )
    r.add_argument(
        "-o",
        "--output",
        dest="output_file",
        metavar="OUT.json",
        help="write the outputs JSON (or the error JSON) to this file instead of stdout",
    )
    r.add_argument(
        "--error-json",
        action="store_true",
        help="on failure print the error JSON on stdout (always done; accepted as in miniwdl)",
    )


def validate(args: argparse.Namespace) -> RunOptions:
    """Every option the CLI can check, before anything runs (the backend checks the rest:
    ``Backend.check_run``); raises UsageError naming the option."""
    _check_aws_only(args)
    if args.stack is None:
        args.stack = load_settings().stack or DEFAULT_STACK
    if args.dir is None:
        args.dir = default_dir()
    if args.container is None:
        args.container = container_setting() if args.backend != "aws" else "auto"
    if getattr(args, "max_concurrency", 0) < 0:
        raise UsageError(f"--max-concurrency {args.max_concurrency}: expected 0 (no cap) or more")
    try:
        parse_tags(args.tag)
    except ExecutionInputError as exn:
        raise UsageError(str(exn)) from None
    env = parse_env(args.env)
    runtime_defaults = parse_runtime_defaults(args.runtime_defaults)
    if args.output_file:
        check_writable_file(args.output_file, "-o")
    return RunOptions(
        dir=Path(args.dir), no_cache=args.no_cache, s3upload=args.s3upload,
        delete_after=args.delete_after, tags=list(args.tag), env=env,
        runtime_defaults=runtime_defaults, container=args.container,
        copy_input_files=args.copy_input_files, strict_resources=args.strict_resources,
        as_me=args.as_me, verbose=args.verbose, follow=args.follow, wait=args.wait,
        output_file=args.output_file, argv=list(args.argv), wdl=args.wdl,
        value_options=frozenset(args.value_options),
    )  # fmt: skip


def container_setting() -> str:
    """--container's default: WDL2SFN_CONTAINER (environment, then config file), else auto."""
    value = load_settings().container.strip().lower() or "auto"
    if value not in CONTAINER_CHOICES:
        raise UsageError(
            f"WDL2SFN_CONTAINER={value!r}: expected one of {', '.join(CONTAINER_CHOICES)}"
        )
    return value


def _check_aws_only(args: argparse.Namespace) -> None:
    if args.backend == "aws":
        return
    given = [f"--{name}" for name in AWS_ONLY if getattr(args, name)]
    if given:
        raise UsageError(f"{', '.join(given)}: only with --backend aws (this run is local)")


def parse_env(pairs: list[str]) -> dict[str, str]:
    """--env NAME=VALUE sets, --env NAME passes this environment's value through."""
    out: dict[str, str] = {}
    for item in pairs:
        name, eq, value = item.partition("=")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise UsageError(f"--env {item!r}: expected NAME or NAME=VALUE")
        if not eq:
            if name not in os.environ:
                raise UsageError(f"--env {name}: not set in this environment (use {name}=VALUE)")
            value = os.environ[name]
        out[name] = value
    return out


def parse_runtime_defaults(text: str | None) -> dict[str, Any]:
    """--runtime-defaults: a JSON object, inline or in a file (as miniwdl)."""
    if not text:
        return {}
    source = "--runtime-defaults"
    if not text.lstrip().startswith("{"):
        source = text
        try:
            text = Path(text).read_text()
        except OSError as exn:
            raise UsageError(f"--runtime-defaults {source}: {exn.strerror or exn}") from exn
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exn:
        raise UsageError(f"{source}: not valid JSON: {exn.msg} (line {exn.lineno})") from exn
    if not isinstance(value, dict):
        raise UsageError(f"{source}: expected a JSON object of runtime settings")
    return value


def read_inputs_argument(value: str | None) -> str | None:
    """-i's JSON text: inline (starts with '{'), stdin (-), or any readable path (a file,
    /dev/fd/N from <(...)). Read once here, so pipes work; checked to be a JSON object."""
    if value is None:
        return None
    stripped = value.strip().removeprefix("\ufeff")
    if stripped.startswith("{"):
        text, where = stripped, "-i"
    elif stripped == "-":
        text, where = sys.stdin.read(), "stdin"
    elif not os.path.lexists(value) and (given := _inline_kind(stripped)):
        raise UsageError(
            f"-i {value!r}: inputs must be a JSON object (or a file holding one), not {given}"
        )
    else:
        text, where = _read_inputs_file(value), value
    try:
        parsed = json.loads(text.removeprefix("\ufeff"))  # a BOM, as Windows editors write
    except json.JSONDecodeError as exn:
        raise UsageError(
            f"{where}:{exn.lineno}:{exn.colno}: inputs are not valid JSON: {exn.msg}"
        ) from exn
    if not isinstance(parsed, dict):
        raise UsageError(f"{where}: inputs must be a JSON object, not {_json_kind(parsed)}")
    return json.dumps(parsed)


def _inline_kind(text: str) -> str | None:
    """What ``-i TEXT`` is when it is meant as the inputs themselves rather than a path (a JSON
    array or scalar, or YAML-ish ``name: value``); None when it may be a path."""
    try:
        return _json_kind(json.loads(text))
    except ValueError:
        pass
    if text.startswith("[") or ": " in text or text.endswith(":"):
        return "text that is not JSON"
    return None


def _json_kind(value: object) -> str:
    """What a JSON value is, in the user's terms (for "must be a JSON object, not ...")."""
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    kind = "a boolean" if isinstance(value, bool) else "a number"
    return f"{kind} {json.dumps(value)}"


def _read_inputs_file(path: str) -> str:
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a folder, not an inputs file")
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except FileNotFoundError as exn:
        raise UsageError(f"{path}: inputs file not found") from exn
    except (OSError, UnicodeDecodeError) as exn:
        raise UsageError(f"{path}: cannot read the inputs file: {exn}") from exn


def check_writable_file(path: str, option: str) -> None:
    """An output file's folder must exist and be writable, and the path not be a folder."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a folder")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {path}: folder {folder} is not writable")
