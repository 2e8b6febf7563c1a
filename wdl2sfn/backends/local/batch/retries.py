"""Retries and timeouts: what ends an attempt early, and whether a failed attempt is retried.

- RetryStrategy: ``attempts`` 1-10; ``evaluateOnExit`` entries are checked in order, the first
  whose every given condition matches decides (RETRY or EXIT, case-insensitive); if none matches
  the job is retried. A pattern is matched exactly, or as a prefix when it ends with ``*`` (the
  only wildcard Batch documents). A field the attempt does not have (no exit code after a host
  termination, no container reason after a normal exit) is matched as the empty string, so only
  ``*`` matches it -- which is what makes the documented catch-all ``{"onReason": "*", "action":
  "EXIT"}`` "exit for any reason".
  https://docs.aws.amazon.com/batch/latest/APIReference/API_EvaluateOnExit.html
  https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html
- Timeout.attemptDurationSeconds: the attempt is terminated (SIGTERM, SIGKILL after a grace) and
  the job is not retried (https://docs.aws.amazon.com/batch/latest/userguide/job_timeouts.html).
- terminated jobs (the managing Task state aborted, terminate_job, shutdown) are not retried.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .api import REASON_TIMEOUT
from .faults import FaultRule
from .records import AttemptResult


def batch_pattern_matches(pattern: str, value: str | None) -> bool:
    """Batch's glob: exact match, or prefix match when the pattern ends with ``*``.
    A missing value is matched as the empty string."""
    value = "" if value is None else value
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def evaluate_on_exit(
    rules: Sequence[Mapping[str, Any]],
    *,
    status_reason: str | None,
    reason: str | None,
    exit_code: int | None,
) -> str:
    """ "RETRY" or "EXIT" for a failed attempt: first rule whose every given condition matches;
    if none matches, RETRY (as AWS Batch documents)."""
    exit_text = None if exit_code is None else str(exit_code)
    for rule in rules:
        conds = [
            (rule.get("onStatusReason"), status_reason),
            (rule.get("onReason"), reason),
            (rule.get("onExitCode"), exit_text),
        ]
        if all(p is None or batch_pattern_matches(str(p), v) for p, v in conds):
            return str(rule.get("action", "RETRY")).upper()
    return "RETRY"


def after_attempt(
    result: AttemptResult, attempt: int, retry_strategy: Mapping[str, Any], stopped: bool
) -> str:
    """What follows an attempt: "SUCCEEDED", "FAILED" or "RETRY". `stopped`: the job was
    terminated or aborted meanwhile."""
    if result.exit_code == 0 and not result.terminal:
        return "SUCCEEDED"
    if result.terminal or attempt >= retry_strategy["attempts"] or stopped:
        return "FAILED"
    action = evaluate_on_exit(
        retry_strategy.get("evaluateOnExit") or [],
        status_reason=result.status_reason,
        reason=result.reason,
        exit_code=result.exit_code,
    )
    return "FAILED" if action == "EXIT" else "RETRY"


@dataclass(frozen=True)
class Stop:
    """Why a running attempt is ended early."""

    reason: str
    terminal: bool  # the job is not retried; the process gets SIGTERM and a grace period
    keep_exit_code: bool = True  # a host termination has none


class AttemptClock:
    """The attempt's deadlines: its timeout, and an injected fault's moment."""

    def __init__(self, duration: float | None, fault: FaultRule | None) -> None:
        now = time.monotonic()
        self.deadline = now + duration if duration else None
        self.fault: FaultRule | None = None
        self.fault_at: float | None = None
        if fault is not None and fault.after_seconds is not None:
            self.fault, self.fault_at = fault, now + fault.after_seconds

    def due(self) -> Stop | None:
        """The deadline passed, if one has."""
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            return Stop(REASON_TIMEOUT, terminal=True)
        if self.fault is not None and self.fault_at is not None and now >= self.fault_at:
            return Stop(self.fault.reason, terminal=False, keep_exit_code=False)
        return None
