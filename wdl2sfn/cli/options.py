"""What several commands share: their options (compile, backend, run folder), the compile step
from those options, the choice of backend, and how answers and errors are printed (JSON on
stdout, one line a human can act on on stderr)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..backends import Backend, get_backend
from ..backends.errors import BackendError
from ..backends.requests import RunRef
from ..backends.workflow import CompileOptions, compile_workflow
from ..contract.settings import load_settings
from .run_options import default_dir

if TYPE_CHECKING:
    import WDL

    from ..compiler import CompiledWorkflow

EXIT_FAILED = 1
EXIT_USAGE = 2


class Subparsers(Protocol):
    """argparse's subparsers action (its class is private)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def compile_options(p: argparse.ArgumentParser, wdl_optional: bool = False) -> None:
    """WF.wdl and how to compile it (compile, graph, check, run, deploy, rehearse)."""
    p.add_argument("wdl", metavar="WF.wdl", nargs="?" if wdl_optional else None)
    p.add_argument(
        "-p",
        "--path",
        metavar="DIR",
        action="append",
        default=[],
        help="folder to search for imports (can be given several times), as miniwdl",
    )
    p.add_argument("--filesystem", choices=("efs", "fsx"), default=None,
                   help="efs (default) or fsx; on AWS (deploy, run --backend aws) the stack's, "
                   "when not given")  # fmt: skip
    p.add_argument("--max-concurrency", type=int, default=0, metavar="N",
                   help="cap Batch jobs per scatter")  # fmt: skip
    p.add_argument("--concurrency-ceiling", type=int, default=1000, metavar="N",
                   help="cap the shards nested scatters run at once (the product of their "
                   "MaxConcurrency; default 1000, Lambda's default concurrency per Region)")  # fmt: skip
    p.add_argument("--subworkflows", choices=("inline", "machine"), default="inline")
    p.add_argument(
        "--no-quant-check",
        dest="check_quant",
        action="store_false",
        help="relax optional/non-optional type checks (as miniwdl's --no-quant-check)",
    )
    p.add_argument("--task",
                   help="run/compile this task of a document (default: its workflow, or its "
                   "only task)")  # fmt: skip
    p.add_argument("--max-definition-bytes", type=int, default=900_000, metavar="N",
                   help="move pieces into child state machines past this size (AWS's limit is "
                   "1 MiB)")  # fmt: skip


def scatter_width_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scatter-width",
        action="append",
        default=[],
        metavar="[NAME=]N",
        help="price the report's run with scatter NAME (its variable) N wide, or every scatter "
        "if no NAME (default: 100 each; repeatable)",
    )


def backend_options(
    p: argparse.ArgumentParser, default: str = "local", choices: tuple[str, ...] = ("local", "aws")
) -> None:
    """--backend, and where an AWS run is: --stack, --region."""
    p.add_argument("--backend", choices=choices, default=default)
    p.add_argument("--stack", default=load_settings().stack or "wdl2sfn", help="(aws)")
    p.add_argument("--region", default=None, help="(aws) the region")


def dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("-d", "--dir", default=None, help="where runs are (default: $WDL2SFN_DIR or .)")


def backend_of(args: argparse.Namespace, name: str | None = None) -> Backend:
    """The backend ``--backend`` names (or ``name``), where ``--stack``/``--region`` say."""
    return get_backend(name or args.backend, stack=args.stack, region=args.region)


def run_ref(args: argparse.Namespace) -> RunRef:
    """RUN and where local runs are (``--dir``, else $WDL2SFN_DIR, else .)."""
    return RunRef(str(getattr(args, "run", "")), Path(args.dir or default_dir()))


def compile_args(
    args: argparse.Namespace, backend: Backend | None = None
) -> tuple[WDL.Tree.Document, CompiledWorkflow]:
    """Compile WF.wdl as the options say; the file system, when not given, is the backend's
    (an AWS stack's own), else EFS."""
    filesystem = getattr(args, "filesystem", None) or (backend.filesystem() if backend else "efs")
    return compile_workflow(
        CompileOptions(
            wdl=args.wdl,
            path=list(getattr(args, "path", None) or []),
            check_quant=args.check_quant,
            task=args.task,
            filesystem=filesystem,
            max_concurrency=args.max_concurrency,
            concurrency_ceiling=args.concurrency_ceiling,
            subworkflows=args.subworkflows,
            max_definition_bytes=args.max_definition_bytes,
        )
    )


def print_json(doc: Any) -> int:
    """An answer: JSON on stdout, exit 0."""
    print(json.dumps(doc, indent=2))
    return 0


def fail_usage(message: str) -> int:
    print(json.dumps({"error": "UsageError", "message": message}), file=sys.stdout)
    print(message, file=sys.stderr)
    return EXIT_USAGE


def fail_backend(exn: BackendError) -> int:
    """A backend's failure: its error JSON on stdout, one line on stderr, its exit status."""
    print(json.dumps({"error": exn.error, "message": str(exn)}, indent=2))
    print(f"wdl2sfn: {exn}", file=sys.stderr)
    return exn.exit_code
