"""Recover: a failed Batch job either resubmitted on demand (a spot host lost, retries left) or
reported as the task's failure."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import WDL

from ...contract.settings import ATTEMPT_BASE
from .. import batch_params as bp
from ..atomic import write_json_atomic
from .context import TaskContext
from .failures import read_rc, task_failed, write_error


def _get(d: dict[str, Any] | None, *names: str) -> Any:
    """Case-insensitive lookup (Step Functions gives PascalCase, boto3 camelCase)."""
    if not isinstance(d, dict):
        return None
    lower = {k.lower(): v for k, v in d.items()}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def recover_task(task: WDL.Tree.Task, ctx: TaskContext, error: dict[str, Any]) -> dict[str, Any]:
    """Failure path after the Batch job failed. Returns an on-demand JOB when a spot job lost its
    host (after its spot attempts) or failed with maxRetries left; otherwise raises WdlTaskFailed."""
    call_dir = Path(ctx.call_dir).absolute()
    failed = _FailedJob.from_error(error)
    try:
        job = json.loads((call_dir / "job.json").read_text())
        runtime = json.loads((call_dir / "runtime.json").read_text())
    except (OSError, ValueError):
        job, runtime = None, {}
    queue = _get(failed.desc, "JobQueue") or (job or {}).get("queue")
    if (
        job is not None
        and _on_spot(ctx, queue, runtime)
        and job.get("queue") != ctx.queues.get("cpu")
    ):
        on_demand = _on_demand(ctx, call_dir, job, runtime, failed)
        if on_demand is not None:
            return on_demand
    rc = read_rc(call_dir)
    exit_code = failed.exit_code
    code = rc if rc is not None else (exit_code if isinstance(exit_code, int) else None)
    why = _why(
        failed,
        error,
        code,
        rc is not None and bp.returncode_allowed(rc, runtime.get("returnCodes", 0)),
    )
    exn = task_failed(
        ctx,
        call_dir,
        code,
        why,
        ran=code is not None or bool(_get(failed.desc, "Attempts")),
        status_reason=failed.status_reason,
        log_stream=failed.log_stream,
        queue=queue,
    )
    write_error(call_dir, exn)
    raise exn


@dataclass
class _FailedJob:
    """What the failed job's description (the error's Cause) says of its last attempt."""

    desc: dict[str, Any]
    status_reason: Any
    reason: Any
    exit_code: Any
    log_stream: Any

    @classmethod
    def from_error(cls, error: dict[str, Any]) -> _FailedJob:
        cause_raw = error.get("Cause", error.get("cause"))
        desc: dict[str, Any] = {}
        if isinstance(cause_raw, dict):
            desc = cause_raw
        elif isinstance(cause_raw, str):
            with contextlib.suppress(ValueError):
                parsed = json.loads(cause_raw)
                if isinstance(parsed, dict):
                    desc = parsed
        attempts = _get(desc, "Attempts") or []
        last = attempts[-1] if attempts and isinstance(attempts[-1], dict) else {}
        container = _get(desc, "Container") or {}
        last_container = _get(last, "Container") or {}
        exit_code = _get(last_container, "ExitCode")
        return cls(
            desc=desc,
            status_reason=_get(last, "StatusReason") or _get(desc, "StatusReason"),
            reason=_get(last_container, "Reason") or _get(container, "Reason"),
            exit_code=_get(container, "ExitCode") if exit_code is None else exit_code,
            log_stream=_get(last_container, "LogStreamName") or _get(container, "LogStreamName"),
        )


def _on_spot(ctx: TaskContext, queue: Any, runtime: dict[str, Any]) -> bool:
    spot_arn = ctx.queues.get("spot")
    return bool(queue) and (
        queue == spot_arn or runtime.get("queue_arn") == queue and runtime.get("queue") == "spot"
    )


def _on_demand(
    ctx: TaskContext,
    call_dir: Path,
    job: dict[str, Any],
    runtime: dict[str, Any],
    failed: _FailedJob,
) -> dict[str, Any] | None:
    """The spot job again on the on-demand queue, if its host was lost or it has retries left."""
    max_retries = int(runtime.get("maxRetries", 0))
    host_lost = bp.is_host_termination(failed.status_reason)
    if not (host_lost or max_retries > 0):
        return None
    # a host loss gets the full 1 + maxRetries; a real failure on spot already used one
    # (prepare registered both job definitions: the failure path may not register any)
    definition = (job.get("on_demand") or {}).get("host_lost" if host_lost else "failed")
    if not definition:
        return None
    od = {k: v for k, v in job.items() if k != "on_demand"}
    od["queue"] = ctx.queues["cpu"]
    od["definition"] = definition
    if runtime.get("record_attempt"):  # WDL 1.2: task.attempt goes on counting
        od["overrides"] = _after_spot_attempts(od.get("overrides") or {}, failed)
    with contextlib.suppress(FileNotFoundError):
        (call_dir / "rc").unlink()
    write_json_atomic(call_dir / "job.json", od)
    return od


def _after_spot_attempts(overrides: dict[str, Any], failed: _FailedJob) -> dict[str, Any]:
    """The on-demand job's overrides with ATTEMPT_BASE = the attempts the spot job made,
    so WDL 1.2's task.attempt goes on counting (Batch numbers the new job's attempts from 1)."""
    tried = len(_get(failed.desc, "Attempts") or []) or 1
    given = overrides.get("Environment") or []
    base = next((int(e["Value"]) for e in given if e.get("Name") == ATTEMPT_BASE), 0)
    env = [e for e in given if e.get("Name") != ATTEMPT_BASE]
    env.append({"Name": ATTEMPT_BASE, "Value": str(base + tried)})
    return {**overrides, "Environment": env}


def _why(failed: _FailedJob, error: dict[str, Any], code: int | None, allowed: bool) -> str | None:
    """The failure's reason for the message: Batch's, unless the exit status says it all.
    `allowed`: the command's recorded status is one returnCodes allows (the job failed anyway)."""
    status_reason, reason = failed.status_reason, failed.reason
    why = status_reason
    if reason and reason != status_reason:
        why = f"{status_reason}; {reason}" if status_reason else reason
    if code is not None and allowed:
        return why or "the Batch job failed"
    if code is not None:
        return None if not why or why.startswith("Essential container") else why
    return why or str(error.get("Error") or "the Batch job failed")
