"""A failed AWS run named as a failed local run names it (invariant 7, "errors keep their names").

A failed shard ends its Distributed Map with ``States.ExceedToleratedFailureThreshold`` and a
failed child machine ends its caller with the child's DescribeExecution JSON. Locally
``wdl2sfn.runs.failure`` reads the child histories from the run folder; on AWS the same children are
found through the API: ListMapRuns of the execution, ListExecutions with each ``mapRunArn``
(status FAILED), and the ``ExecutionArn`` a child machine's failure names, recursively. The
innermost failure's message is the collect step's (call, exit status, stderr tail, the paths of
its logs on the stack's file system); the failed child's own history gives the Batch job's
CloudWatch Logs stream.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from ...runs.failure import Failure, _section_tail, as_miniwdl, is_wrapper
from ...runs.failure import _unwrap_description as unwrap_description
from . import parse_json

EXIT_STATUS = re.compile(r"failed with exit status (-?\d+)")
# The workflow's sources as the run-time steps load them: <store>/<run>/wdl/<path>
STORE_SOURCES = re.compile(r"/\S*?/runs/[^/\s]+/wdl/")
LOG_GROUP = "/aws/batch/job"
MAX_DEPTH = 6  # nested scatters inside child machines: deeper is not compiled


@dataclass
class AwsFailure(Failure):
    """A Failure that also names the CloudWatch Logs stream of the failed job and the
    execution it failed in."""

    log_stream: str | None = None
    execution_arn: str | None = None

    def summary(self) -> str:
        if self.log_stream and self.call is not None:
            where = f"CloudWatch {LOG_GROUP} {self.log_stream}"
            if self.call_dir:
                where += f", {self.call_dir}"
            return Failure.summary(dataclasses.replace(self, log_stream=None, call_dir=where))
        return super().summary()


@dataclass
class Inner:
    """The innermost failed execution: its error, cause and ARN."""

    error: str
    cause: str
    arn: str


def innermost(sfn: Any, arn: str, error: str, cause: str, depth: int = 0) -> Inner:
    """Follow wrapper failures (a Map Run's threshold, a child machine's failure) down to the
    earliest failure that is not only a wrapper."""
    if not is_wrapper(error, cause) or depth >= MAX_DEPTH:
        return Inner(error, cause, arn)
    found: list[tuple[str, Inner]] = []
    for child in failed_children(sfn, arn, cause):
        described = sfn.describe_execution(executionArn=child)
        if described.get("status") not in ("FAILED", "TIMED_OUT"):
            continue
        inner = innermost(sfn, child, described.get("error", ""), described.get("cause", ""),
                          depth + 1)  # fmt: skip
        found.append((str(described.get("stopDate", "")), inner))
    named = [pair for pair in found if not is_wrapper(pair[1].error, pair[1].cause)]
    if not named:
        return Inner(error, unwrap_description(cause), arn)
    return min(named, key=lambda pair: pair[0])[1]


def failed_children(sfn: Any, arn: str, cause: str) -> list[str]:
    """Child executions of ``arn`` that failed: the child machine's execution its cause names,
    and each Map Run's failed children."""
    children: list[str] = []
    parsed = parse_json(cause)
    if isinstance(parsed, dict) and parsed.get("ExecutionArn"):
        children.append(str(parsed["ExecutionArn"]))
    for run in _pages(sfn.list_map_runs, "mapRuns", executionArn=arn):
        failed = _pages(sfn.list_executions, "executions", mapRunArn=run["mapRunArn"],
                        statusFilter="FAILED")  # fmt: skip
        children += [str(e["executionArn"]) for e in failed]
    return children


def _pages(method: Any, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = None
    while True:
        page = method(**kwargs, **({"nextToken": token} if token else {}))
        out += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return out


def describe(sfn: Any, description: dict[str, Any]) -> AwsFailure:
    """The innermost failure of a failed execution, with call, shard, exit status, the last
    stderr line, the CloudWatch stream and the call folder on the stack's file system."""
    inner = innermost(sfn, str(description.get("executionArn", "")),
                      description.get("error") or "", description.get("cause") or "")  # fmt: skip
    message, error_type = inner.cause, inner.error or str(description.get("status"))
    parsed = parse_json(inner.cause)
    if isinstance(parsed, dict) and "errorMessage" in parsed:  # a Lambda step raised
        message = str(parsed["errorMessage"])
        error_type = str(parsed.get("errorType", error_type))
    elif isinstance(parsed, dict) and "StatusReason" in parsed:  # a Batch job description
        from ...runs.failure import batch_job_message

        message = batch_job_message(parsed)
    failure = AwsFailure(error=error_type, message=source_names(message), execution_arn=inner.arn)
    add_call(failure, message)
    if inner.arn != description.get("executionArn") or failure.call is not None:
        failure.log_stream = log_stream(sfn, inner.arn)
    return failure


def source_names(message: str) -> str:
    """WDL positions as the user wrote them (``wf.wdl:4:3``), not as the run-time steps loaded
    them from the run folder (``/mnt/efs/wdl2sfn/runs/<run>/wdl/wf.wdl:4:3``)."""
    return STORE_SOURCES.sub("", message)


def add_call(failure: Failure, message: str) -> None:
    """Call, shard, exit status and stderr's last line from the task failure's message (the
    call folder ``<run>/calls/<call>[/shard-<i>...]`` its ``stderr: PATH`` line names)."""
    path = next((ln[len("stderr: ") :] for ln in message.splitlines()
                 if ln.startswith("stderr: ")), None)  # fmt: skip
    if path is None or "/calls/" not in path:
        return
    call_dir = path.rsplit("/", 1)[0]
    failure.call_dir = call_dir
    parts = call_dir.split("/calls/", 1)[1].split("/")
    shards = [p for p in parts if p.startswith("shard-") and p[6:].isdigit()]
    failure.shard = [int(p[6:]) for p in shards]
    failure.call = "/".join(p for p in parts if p not in shards)
    head = message.splitlines()[0] if message else ""
    code = EXIT_STATUS.search(head)
    failure.exit_status = int(code.group(1)) if code else None
    lines = [ln.strip() for ln in _section_tail(message).splitlines() if ln.strip()]
    failure.stderr_last = lines[-1] if lines else None


def log_stream(sfn: Any, arn: str) -> str | None:
    """The CloudWatch Logs stream of the last Batch job the execution ran (its Task events'
    job description: ``Container.LogStreamName``)."""
    try:
        events = _pages(sfn.get_execution_history, "events", executionArn=arn, reverseOrder=True)
    except Exception:  # a failure report never fails on a missing history
        return None
    for event in events:
        details = event.get("taskSucceededEventDetails") or event.get("taskFailedEventDetails")
        if not details or details.get("resourceType") != "batch":
            continue
        job = parse_json(details.get("output") or details.get("cause") or "")
        if isinstance(job, dict):
            stream = (job.get("Container") or {}).get("LogStreamName")
            if stream:
                return str(stream)
    return None


def error_json(failure: AwsFailure, description: dict[str, Any], url: str,
               run_dir: str | None) -> dict[str, Any]:  # fmt: skip
    """The error JSON of a local run (miniwdl's --error-json shape), with the execution, its
    console page and the CloudWatch stream in place of the local history file."""
    status = str(description.get("status"))
    first = (failure.message.strip().splitlines() or [failure.error])[0]
    summary = failure.summary()
    if failure.call is None and not first.startswith(failure.error):
        summary = f"{failure.error}: {first}"  # as the error type names what failed
    if status == "ABORTED":
        summary = f"run stopped: {first or 'aborted'}"
    elif status == "TIMED_OUT":
        summary = f"run timed out: {first}"
    out: dict[str, Any] = {
        "error": failure.error,
        "message": failure.message,
        "summary": f"{summary} (execution {description.get('name', '')}: {url})",
        "status": status,
        "dir": run_dir,
        "execution_arn": description.get("executionArn"),
        "console_url": url,
    }
    if failure.call is not None:
        out.update(call=failure.call, shard=failure.shard, exit_status=failure.exit_status,
                   call_dir=failure.call_dir, failed_execution_arn=failure.execution_arn)  # fmt: skip
    if failure.log_stream:
        out["log_group"], out["log_stream"] = LOG_GROUP, failure.log_stream
    workflow = str(description.get("stateMachineArn", "")).rsplit(":", 1)[-1] or None
    return as_miniwdl(out, failure, workflow, run_dir)
