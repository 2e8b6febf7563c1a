"""``AwsBackend``: the ``Backend`` interface over a deployed wdl2sfn stack (boto3). Each method
opens its session (``Aws``) in the region asked for, finds the run among the stack's machines
and calls the module that does the work (run.py, runs.py, files.py, resume.py, deploy.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..requests import (
    DeployRequest,
    FilesRequest,
    OutputsRequest,
    ResumeRequest,
    RunOptions,
    RunOutcome,
    RunRef,
    RunRequest,
)
from . import Aws, stack_filesystem, stack_outputs
from .runs import Run, find_run


@dataclass
class AwsBackend:
    """Runs in the stack ``stack`` of ``region`` (None: AWS_REGION / AWS_DEFAULT_REGION)."""

    stack: str = "wdl2sfn"
    region: str | None = None
    name: str = "aws"

    def _run(self, ref: RunRef) -> Run:
        return find_run(Aws(self.region), self.stack, ref.run)

    def filesystem(self) -> str:
        """The stack's own: an FSx stack has no step functions."""
        return stack_filesystem(self.region, self.stack)

    def check_run(self, options: RunOptions) -> None:
        """Nothing to ask before compiling: the stack is read when the run starts."""

    def run(self, request: RunRequest) -> RunOutcome:
        from .run import run_on_aws

        return run_on_aws(self.stack, self.region, request)

    def list_runs(self, where: RunRef) -> list[dict[str, Any]]:
        from .runs import list_runs

        return list_runs(Aws(self.region), self.stack)

    def status(self, ref: RunRef) -> dict[str, Any]:
        from .runs import status

        return status(self._run(ref))

    def logs(self, ref: RunRef) -> Iterator[str]:
        from .runs import log_text

        return log_text(self._run(ref))

    def outputs(self, request: OutputsRequest) -> dict[str, Any]:
        from .runs import outputs, outputs_prefix

        run = self._run(request.ref)
        prefix = outputs_prefix(run, stack_outputs(run.aws, self.stack))
        return outputs(run, prefix, request.get)

    def files(self, request: FilesRequest) -> dict[str, Any]:
        from .files import browse

        run = self._run(request.ref)
        return browse(run, self.stack, request.path, request.recursive, request.get)

    def cost(self, ref: RunRef) -> dict[str, Any]:
        from .runs import cost

        return cost(self._run(ref))

    def resume(self, request: ResumeRequest) -> RunOutcome:
        from .resume import resume

        return resume(self.stack, self.region, request)

    def stop(self, ref: RunRef) -> dict[str, Any]:
        from .runs import stop

        return stop(self._run(ref))

    def deploy(self, request: DeployRequest) -> dict[str, Any]:
        from .deploy import deploy_request

        return deploy_request(self.stack, self.region, request)

    def history_events(self, ref: RunRef) -> list[dict[str, Any]]:
        from .runs import read_histories

        found = read_histories(self._run(ref))
        return [e for events in found.executions.values() for e in events]

    def queue_arn(self, output: str) -> str:
        return stack_outputs(Aws(self.region), self.stack).get(output, "")

    def read_output(self, path: str) -> str | None:
        from pathlib import Path

        if path.startswith("s3://"):
            from .outcome import read_s3_text

            return read_s3_text(path, self.region)
        try:
            return Path(path).read_text()
        except OSError:
            return None
