"""The rehearsal's RedriveExecution window, as AWS documents it (RedriveExecution: "Restarts
unsuccessful executions of Standard workflows that didn't complete successfully in the last 14
days. These include failed, aborted, or timed out executions.")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wdl2sfn.backends.rehearsal.redrives import refusal

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_a_failed_execution_is_redrivable_within_14_days_of_its_stop() -> None:
    assert refusal("FAILED", NOW - timedelta(days=13, hours=23), NOW) is None


def test_an_execution_stopped_more_than_14_days_ago_is_not_redrivable() -> None:
    stopped = NOW - timedelta(days=14, seconds=1)
    assert refusal("TIMED_OUT", stopped, NOW) == "Execution redrivable period exceeded."
