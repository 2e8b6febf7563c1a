"""What a command asks a backend, as typed values: the CLI builds these from its arguments,
so no backend ever sees the argparse Namespace (and a library caller needs no CLI)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import WDL

    from ..compiler import CompiledWorkflow
    from .workflow import CompileOptions


#: --container: a task's image through docker or podman, or the host (image ignored); auto takes
#: the engine that answers, else the host
CONTAINER_CHOICES = ("auto", "host", "docker", "podman")


@dataclass(frozen=True)
class RunRef:
    """A run: its name, folder or (aws) execution ARN; ``dir`` is where local runs are."""

    run: str
    dir: Path = Path(".")


@dataclass(frozen=True)
class RunOptions:
    """`run`'s options, validated: what to run with and how to show it."""

    dir: Path
    no_cache: bool = False
    s3upload: str | None = None
    delete_after: str | None = None
    tags: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    runtime_defaults: dict[str, Any] = field(default_factory=dict)
    container: str = "auto"
    copy_input_files: bool = False
    strict_resources: bool = False
    as_me: bool = False
    verbose: bool = False
    follow: bool = False
    wait: bool = False
    output_file: str | None = None
    # the command line (local runs write a `rerun` script repeating it)
    argv: list[str] = field(default_factory=list)
    wdl: str = ""
    value_options: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RunRequest:
    """One run: the options, the compiled workflow, its document and parsed inputs."""

    options: RunOptions
    doc: WDL.Tree.Document
    compiled: CompiledWorkflow
    inputs: dict[str, Any]


@dataclass(frozen=True)
class OutputsRequest:
    """`outputs RUN [--get DEST]`."""

    ref: RunRef
    get: str | None = None


@dataclass(frozen=True)
class FilesRequest:
    """`files RUN [PATH] [-r] [--get DEST]`."""

    ref: RunRef
    path: str = ""
    recursive: bool = False
    get: str | None = None


@dataclass(frozen=True)
class ResumeRequest:
    """`resume RUN [--wait|--follow] [--verbose]`."""

    ref: RunRef
    wait: bool = False
    follow: bool = False
    verbose: bool = False


@dataclass(frozen=True)
class DeployRequest:
    """`deploy WF.wdl [--role-arn ARN] [--rollback]`."""

    compiled: CompiledWorkflow
    role_arn: str | None = None
    rollback: bool = False


@dataclass
class RunOutcome:
    """What a run (or resume) ended with, for the CLI to report: the JSON document for stdout
    (or ``output_file``), lines for stderr, and the exit status."""

    document: Any
    exit_code: int = 0
    messages: list[str] = field(default_factory=list)
    output_file: str | None = None

    def emit(self) -> int:
        """Say it as every run does: the JSON on stdout (or in ``output_file``), then the
        messages on stderr; the exit status."""
        text = json.dumps(self.document, indent=2)
        if self.output_file:
            Path(self.output_file).write_text(text + "\n")
        else:
            print(text)
        for message in self.messages:
            print(message, file=sys.stderr)
        return self.exit_code


@dataclass(frozen=True)
class Rerun:
    """A local resume: run this command line again, from this folder (the run's `rerun`)."""

    folder: str
    argv: list[str]


@dataclass(frozen=True)
class RehearseRequest:
    """`rehearse`: serve a rehearsed account, or rehearse one run (``compile`` None: serve)."""

    context: list[str]
    dir: Path
    serve: bool = False
    fire_schedules: bool = False
    port: int = 0
    verbose: bool = False
    container: str = "auto"  # how Batch jobs run: auto | host | docker | podman
    compile: CompileOptions | None = None
    inputs: list[str] = field(default_factory=list)
    input_file: str | None = None
