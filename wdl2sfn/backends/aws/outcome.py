"""How an execution ended, said as a local run says it: outputs JSON (read from S3), or the error JSON
and the one-line failure summary (failures.py names the call, shard and exit status).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from ...contract import RUN_BUCKET
from ..requests import RunOutcome
from . import EXIT_FAILED, Aws, AwsBackendError, _aws_call, _note, parse_json


def report(
    aws: Aws,
    description: dict[str, Any],
    request: dict[str, Any],
    outputs: dict[str, str],
    url: str,
) -> int:
    """``outcome_of``, printed as a run reports it; the exit status."""
    return outcome_of(aws, description, request, outputs, url).emit()


def outcome_of(
    aws: Aws,
    description: dict[str, Any],
    request: dict[str, Any],
    outputs: dict[str, str],
    url: str,
) -> RunOutcome:
    """Success: ``{"dir", "outputs"}`` (read from S3), exit 0. Else the error JSON."""
    status = description["status"]
    result = parse_json(description.get("output")) or {}
    final = result.get("final") if isinstance(result, dict) else None
    run_dir = (final or {}).get("dir")
    if status == "SUCCEEDED":
        prefix = s3_prefix(request, outputs, request["run"]["name"])
        doc = read_s3_json(aws, f"{prefix}/outputs.json")
        return RunOutcome({"dir": prefix, "outputs": doc})
    return failure_outcome(aws, description, url, run_dir)


def s3_prefix(request: dict[str, Any], outputs: dict[str, str], folder: str) -> str:
    """Where a run's outputs and logs go in S3: its ``--s3upload``, else the run bucket's
    ``runs/``; then the run's folder name."""
    s3upload = (request.get("run") or {}).get("s3upload")
    base = s3upload or f"s3://{outputs.get(RUN_BUCKET)}/runs"
    return f"{base.rstrip('/')}/{folder}"


def failure_outcome(
    aws: Aws, description: dict[str, Any], url: str, run_dir: str | None
) -> RunOutcome:
    """As a failed local run: the error JSON, the message and one summary line for stderr, the
    failed task's exit status as the exit status (1 when stopped)."""
    from . import failures

    try:
        failure = failures.describe(aws.client("stepfunctions"), description)
    except Exception as exn:  # the API failed while looking: still report what is known
        _note(f"warning: could not look into child executions: {exn}")
        error = error_json(description, url, run_dir)
        code = EXIT_FAILED
    else:
        error = failures.error_json(failure, description, url, run_dir)
        code = EXIT_FAILED if description["status"] == "ABORTED" else failure.exit_code()
    messages = [error["message"]] if "\n" in error["message"] else []
    return RunOutcome(error, code, [*messages, f"wdl2sfn: {error['summary']}"])


def read_s3_json(aws: Aws, uri: str) -> Any:
    parsed = urlparse(uri)
    body = _aws_call(
        f"reading {uri}",
        aws.client("s3").get_object,
        Bucket=parsed.netloc,
        Key=parsed.path.lstrip("/"),
    )["Body"].read()
    return json.loads(body)


def error_json(description: dict[str, Any], url: str, run_dir: str | None) -> dict[str, Any]:
    """The failure in the shape of miniwdl's --error-json (as the local backend's), with the
    execution and its console page in place of the local history file."""
    status = description["status"]
    error_type = description.get("error") or status
    cause = description.get("cause") or ""
    message = cause
    parsed = parse_json(cause)
    if isinstance(parsed, dict) and "errorMessage" in parsed:  # a Lambda step raised
        message = str(parsed["errorMessage"])
        error_type = parsed.get("errorType", error_type)
    elif isinstance(parsed, dict) and "StatusReason" in parsed:  # a Batch job description
        message = (
            f"job {parsed.get('JobName', '')} {parsed.get('Status', '')}: {parsed['StatusReason']}"
        )
    first = (message.strip().splitlines() or [str(error_type)])[0]
    if status == "ABORTED":
        summary = f"run stopped: {first or 'aborted'}"
    elif status == "TIMED_OUT":
        summary = f"run timed out: {first}"
    else:
        summary = f"{error_type}: {first}" if first != error_type else first
    return {
        "error": error_type,
        "message": message,
        "summary": f"{summary} (execution {description.get('name', '')}: {url})",
        "status": status,
        "dir": run_dir,
        "execution_arn": description.get("executionArn"),
        "console_url": url,
    }


def read_s3_text(uri: str, region: str | None) -> str | None:
    """An object's text (a File output uploaded to S3), or None if it cannot be read."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    try:
        body = _aws_call(f"reading {uri}", Aws(region).client("s3").get_object,
                         Bucket=bucket, Key=key)["Body"].read()  # fmt: skip
    except AwsBackendError:
        return None
    return str(body.decode())
