"""The one seam between the CLI and where runs happen: a ``Backend`` takes typed requests
(``requests.py``) and answers with values; the CLI prints them. ``LocalBackend`` (the executor,
a local Batch, run folders) and ``AwsBackend`` (boto3) implement it; ``get_backend`` picks one.

Answers that are JSON documents (status, list, ...) are returned as such; failures are raised
as ``UsageError`` (exit 2, nothing ran) or ``BackendError`` (its own exit status).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from .requests import (
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


class Backend(Protocol):
    """Run, list, status, logs, outputs, files, cost, resume, stop (and deploy, on AWS)."""

    name: str

    def filesystem(self) -> str:
        """The file system to compile for when ``--filesystem`` is not given."""
        ...

    def check_run(self, options: RunOptions) -> None:
        """What this backend can check of a run's options before anything is compiled."""
        ...

    def run(self, request: RunRequest) -> RunOutcome:
        """Start the run (and, as asked, wait for it); its outcome, for the CLI to report."""
        ...

    def list_runs(self, where: RunRef) -> list[dict[str, Any]]:
        """The runs there are (``where.dir`` locally, the stack's machines on AWS)."""
        ...

    def status(self, ref: RunRef) -> dict[str, Any]:
        """A run's status, per-call counts and error."""
        ...

    def logs(self, ref: RunRef) -> Iterator[str]:
        """A run's task logs, as text to write to stdout (chunk by chunk)."""
        ...

    def outputs(self, request: OutputsRequest) -> dict[str, Any]:
        """``{"dir", "outputs"}`` of a run that succeeded."""
        ...

    def files(self, request: FilesRequest) -> dict[str, Any]:
        """A run folder's listing (and, with ``get``, its files fetched)."""
        ...

    def cost(self, ref: RunRef) -> dict[str, Any]:
        """What a run cost, measured from its histories."""
        ...

    def resume(self, request: ResumeRequest) -> RunOutcome | Rerun:
        """A failed run again from where it failed (locally: its `rerun` command line)."""
        ...

    def stop(self, ref: RunRef) -> dict[str, Any]:
        """Stop a run and its jobs."""
        ...

    def deploy(self, request: DeployRequest) -> dict[str, Any]:
        """Create or update the workflow's state machine (or roll its alias back)."""
        ...

    def history_events(self, ref: RunRef) -> list[dict[str, Any]]:
        """Every history event of every execution of a run (self-test reads its jobs)."""
        ...

    def queue_arn(self, output: str) -> str:
        """A job queue's ARN by its stack output name (``GpuQueueArn``)."""
        ...

    def read_output(self, path: str) -> str | None:
        """A File output's text (a path here, or an ``s3://`` URI); None if unreadable."""
        ...
