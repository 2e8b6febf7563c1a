"""The AWS backend: deploy a compiled workflow into a wdl2sfn stack, start, follow, wait, stop.

Everything goes through boto3, so ``AWS_ENDPOINT_URL`` (moto's server in the tests), profiles,
``AWS_REGION``/``AWS_DEFAULT_REGION`` and the usual credential chain apply. This module holds what
every command shares (the session, errors, stack outputs, names, polling); the commands are
``deploy.py`` (and ``versions.py``), ``run.py`` (``wait.py``, ``follow.py``, ``outcome.py``,
``failures.py``), ``runs.py`` (list/status/logs/stop/outputs/cost), ``files.py``, ``resume.py``.
See docs/aws-backend.md.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from ...contract import INIT_FUNCTION, MAX_MACHINE_NAME, RUNNER_JOB_DEFINITION
from ...contract.settings import load_settings
from ..errors import BackendError

EXIT_FAILED = 1
EXIT_USAGE = 2

DIGEST_TAG = "wdl2sfn:digest"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
NAME_MAX = MAX_MACHINE_NAME  # state machine and execution names


class AwsBackendError(BackendError):
    """A failure with a message a human can act on; ``exit_code`` 2 when nothing ran yet."""

    def __init__(self, message: str, *, error: str = "AwsBackendError", exit_code: int = 1):
        super().__init__(message, error=error, exit_code=exit_code)


# ---------------------------------------------------------------------------- sessions


@dataclass
class Aws:
    """The boto3 clients one command uses (one region)."""

    region: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import boto3

        self.session = boto3.session.Session(region_name=self.region or None)
        self.region = self.session.region_name
        if not self.region:
            raise AwsBackendError(
                "no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION",
                error="UsageError",
                exit_code=EXIT_USAGE,
            )

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]


def _code(exn: BaseException) -> str:
    response = getattr(exn, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _aws_call(what: str, fn: Any, /, **kwargs: Any) -> Any:
    """Call boto3; turn credential/endpoint/API errors into one actionable message."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kwargs)
    except ClientError as exn:
        raise AwsBackendError(f"{what}: {exn}", error=_code(exn) or "ClientError") from exn
    except BotoCoreError as exn:
        raise AwsBackendError(f"{what}: {exn}", error=type(exn).__name__) from exn


# ---------------------------------------------------------------------------- stack


def stack_outputs(aws: Aws, stack: str) -> dict[str, str]:
    """The stack's outputs, OutputKey -> OutputValue."""
    from botocore.exceptions import ClientError

    cfn = aws.client("cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exn:
        if _code(exn) == "ValidationError" and "does not exist" in str(exn):
            raise AwsBackendError(
                f"stack {stack!r} not found in {aws.region}: deploy the wdl2sfn CDK app "
                "(cdk deploy) or pass --stack NAME",
                error="StackNotFound",
                exit_code=EXIT_USAGE,
            ) from exn
        raise AwsBackendError(f"DescribeStacks {stack}: {exn}", error=_code(exn)) from exn
    except Exception as exn:  # botocore: no credentials, endpoint unreachable, ...
        raise AwsBackendError(f"DescribeStacks {stack}: {exn}", error=type(exn).__name__) from exn
    if not stacks:
        raise AwsBackendError(f"stack {stack!r} not found", error="StackNotFound", exit_code=2)
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def stack_filesystem(region: str | None, stack: str) -> str:
    """``fsx`` for a stack whose run-time steps are runner jobs (no ``InitFunctionArn``: Lambda
    cannot mount FSx), else ``efs``; ``efs`` when the stack cannot be read (the command then says
    why, when it deploys)."""
    try:
        outputs = stack_outputs(Aws(region), stack)
    except AwsBackendError:
        return "efs"
    runner_steps = INIT_FUNCTION not in outputs and RUNNER_JOB_DEFINITION in outputs
    return "fsx" if runner_steps else "efs"


def parse_json(text: Any) -> Any:
    """A JSON text from an API answer (an event's output or cause), or None if it is not one."""
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


# ---------------------------------------------------------------------------- wait / follow


def poll_seconds() -> float:
    return float(load_settings().poll_seconds)


def json_able(value: Any) -> Any:
    """boto3's datetimes -> ISO 8601 strings (GetExecutionHistory as history.jsonl holds it)."""
    if isinstance(value, dict):
        return {k: json_able(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [json_able(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    return value


# ---------------------------------------------------------------------------- output


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fail(exn: AwsBackendError) -> int:
    print(json.dumps({"error": exn.error, "message": str(exn)}, indent=2))
    print(f"wdl2sfn: {exn}", file=sys.stderr)
    return exn.exit_code


__all__ = [
    "Aws",
    "AwsBackendError",
    "stack_outputs",
]
