"""Task job definitions are registered once per run per definition, serialized across the
concurrent prepares of a run, and retried when Batch throttles (issue 20 item 11).

AWS Batch user guide, "AWS Batch service quotas": "Maximum number of transactions per second
(TPS) for each account for SubmitJob operations: 50"; AWS re:Post knowledge center
(aws-batch-requests-error): "The maximum number of transactions per second (TPS) for each account
for AWS Batch API calls, including the SubmitJob operations, is 50. This is a fixed limit." and,
when reached, "Too Many Requests (Service: AWSBatch; Status Code: 429; Error Code:
TooManyRequestsException)"; its resolution: "Use retries and an exponential backoff algorithm
with jitter". Every RegisterJobDefinition and DescribeJobDefinitions of prepare counts against
those 50 a second, beside the run's SubmitJob calls.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from wdl2sfn.task_runner import batch_params as bp
from wdl2sfn.task_runner import registry

MOUNT = {"volumes": [{"name": "shared", "host": {"sourcePath": "/mnt/net/wdl2sfn/runs/r1"}}]}


class SlowBatch:
    """One Lambda's Batch client: sees the account's definitions, answers after a delay (a race
    window), and throttles the first ``throttle`` calls as Batch does."""

    def __init__(self, account: list[dict[str, Any]], throttle: int = 0, code: str = "") -> None:
        self.account = account
        self.throttle = throttle
        self.code = code or "ClientException"

    def _maybe_throttle(self, operation: str) -> None:
        if self.throttle > 0:
            self.throttle -= 1
            error = {"Code": self.code, "Message": "Too Many Requests."}
            raise ClientError({"Error": error}, operation)

    def describe_job_definitions(self, **kw: Any) -> dict[str, Any]:
        self._maybe_throttle("DescribeJobDefinitions")
        time.sleep(0.05)
        found = [d for d in self.account if d["jobDefinitionName"] == kw["jobDefinitionName"]]
        return {"jobDefinitions": [{**d, "status": "ACTIVE"} for d in found]}

    def register_job_definition(self, **kw: Any) -> dict[str, Any]:
        self._maybe_throttle("RegisterJobDefinition")
        time.sleep(0.05)
        self.account.append(kw)
        revision = len(self.account)
        return {"jobDefinitionName": kw["jobDefinitionName"], "revision": revision}


def test_eight_concurrent_prepares_of_a_run_register_its_definition_once(tmp_path: Path) -> None:
    account: list[dict[str, Any]] = []
    names: list[str] = []

    def prepare() -> None:  # each shard's prepare: its own Lambda, its own client
        names.append(bp.ensure_job_definition(SlowBatch(account), "img:1", MOUNT,
                                              registry=tmp_path / "_jobdefs"))  # fmt: skip

    threads = [threading.Thread(target=prepare) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 1
    assert [d["jobDefinitionName"] for d in account] == names[:1]


def test_a_later_prepare_of_the_run_makes_no_batch_call(tmp_path: Path) -> None:
    account: list[dict[str, Any]] = []
    bp.ensure_job_definition(SlowBatch(account), "img:1", MOUNT, registry=tmp_path)
    silent = SlowBatch(account, throttle=10**6)  # any call would raise
    bp.ensure_job_definition(silent, "img:1", MOUNT, registry=tmp_path)
    assert len(account) == 1


@pytest.mark.parametrize("code", ["ClientException", "TooManyRequestsException"])
def test_a_throttled_registration_is_retried(
    tmp_path: Path, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(registry.time, "sleep", slept.append)
    account: list[dict[str, Any]] = []
    bp.ensure_job_definition(SlowBatch(account, throttle=3, code=code), "img:1", MOUNT,
                             registry=tmp_path)  # fmt: skip
    assert len(account) == 1 and len(slept) >= 3


def test_other_batch_errors_are_not_retried(tmp_path: Path) -> None:
    class Refusing(SlowBatch):
        def register_job_definition(self, **kw: Any) -> dict[str, Any]:
            error = {"Code": "ClientException", "Message": "Invalid image name"}
            raise ClientError({"Error": error}, "RegisterJobDefinition")

    with pytest.raises(ClientError, match="Invalid image name"):
        bp.ensure_job_definition(Refusing([]), "bad image", MOUNT, registry=tmp_path)
