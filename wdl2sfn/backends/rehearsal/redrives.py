"""RedriveExecution's rules under the rehearsal: which executions may be redriven, and what
DescribeExecution says of it.

AWS, RedriveExecution (Step Functions API reference): "Restarts unsuccessful executions of
Standard workflows that didn't complete successfully in the last 14 days. These include failed,
aborted, or timed out executions." Its error: "ExecutionNotRedrivable: The execution Amazon
Resource Name (ARN) that you specified for executionArn cannot be redriven." (HTTP 400).
DescribeExecution's ``redriveStatusReason`` names why, among them "Execution is RUNNING and
cannot be redriven.", "Execution is SUCCEEDED and cannot be redriven." and "Execution redrivable
period exceeded."
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

REDRIVABLE = ("FAILED", "ABORTED", "TIMED_OUT")
REDRIVE_PERIOD = timedelta(days=14)


def refusal(status: str, stopped: datetime | None, now: datetime) -> str | None:
    """AWS's ``redriveStatusReason`` for an execution it would not redrive (None: it would)."""
    if status not in REDRIVABLE:
        return f"Execution is {status} and cannot be redriven."
    if stopped is not None and now - _aware(stopped) > REDRIVE_PERIOD:
        return "Execution redrivable period exceeded."
    return None


def not_redrivable(arn: str, reason: str) -> Exception:
    """The error RedriveExecution answers with (moto's JSON error, HTTP 400)."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(
        "ExecutionNotRedrivable",
        f"The execution Amazon Resource Name (ARN) that you specified for executionArn cannot "
        f"be redriven: {arn}. {reason}",
    )


def described(record: Any) -> dict[str, Any]:
    """DescribeExecution's redrive fields of a rehearsed execution."""
    count = len(getattr(record, "_redrives", []))
    fields: dict[str, Any] = {"redriveCount": count}
    if count:
        fields["redriveDate"] = getattr(record, "_redrive_date", None)
    why = refusal(str(record.status), record.stop_date, datetime.now(UTC))
    fields["redriveStatus"] = "REDRIVABLE" if why is None else "NOT_REDRIVABLE"
    if why is not None:
        fields["redriveStatusReason"] = why
    return fields


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
