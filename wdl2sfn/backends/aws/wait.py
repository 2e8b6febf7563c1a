"""Waiting for an execution: DescribeExecution polled (``--wait``); the new history events of
one execution (what ``--follow``, follow.py, reads each poll); ``Detached`` when Ctrl-C stops
waiting (the run goes on). follow.py imports this module, never the reverse.
"""

from __future__ import annotations

import time
from typing import Any

from . import TERMINAL, Aws, _aws_call, json_able, poll_seconds


def wait(aws: Aws, arn: str) -> dict[str, Any]:
    """Poll DescribeExecution until the execution ends (Ctrl-C: Detached, the run goes on)."""
    sfn = aws.client("stepfunctions")
    try:
        while True:
            description = _aws_call("DescribeExecution", sfn.describe_execution, executionArn=arn)
            if description["status"] in TERMINAL:
                return dict(json_able(description))
            time.sleep(poll_seconds())
    except KeyboardInterrupt:
        raise Detached(arn) from None


def new_events(aws: Aws, arn: str, after_id: int) -> list[dict[str, Any]]:
    """Events with id > after_id, oldest first. Asks for newest-first pages and stops at the first
    page reaching an event already seen, so a poll costs O(new events); a service that ignores
    ``reverseOrder`` (moto does) is still read correctly, by paging on."""
    sfn = aws.client("stepfunctions")
    found: dict[int, dict[str, Any]] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"executionArn": arn, "reverseOrder": True, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = _aws_call("GetExecutionHistory", sfn.get_execution_history, **kwargs)
        events = page.get("events", [])
        ids = [int(e.get("id", 0)) for e in events]
        for event_id, event in zip(ids, events, strict=True):
            if event_id > after_id:
                found[event_id] = json_able(event)
        newest_first = len(ids) < 2 or ids[0] > ids[-1]
        token = page.get("nextToken")
        if not token or (newest_first and ids and min(ids) <= after_id):
            return [found[i] for i in sorted(found)]


class Detached(Exception):
    """Ctrl-C while following or waiting: the run goes on."""

    def __init__(self, arn: str) -> None:
        super().__init__(arn)
        self.arn = arn

    def message(self) -> str:
        return (
            f"stopped following; the run goes on: {self.arn}\n"
            f"wdl2sfn: follow it again with `wdl2sfn status {self.arn} --backend aws`, "
            f"stop it with `wdl2sfn stop {self.arn} --backend aws`"
        )
