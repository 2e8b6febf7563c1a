"""AWS's request-rate and concurrency quotas, applied to the rehearsal's calls as AWS applies
them, so a wide scatter shows whether the stack's retries hold.

The numbers are the documented defaults (``WDL2SFN_REHEARSAL_QUOTAS`` replaces any of them,
scaled down in tests so a modest scatter meets them):

* AWS Batch: "The maximum number of transactions per second (TPS) for each account for AWS Batch
  API calls, including the SubmitJob operations, is 50", answered past it with "Too Many
  Requests (Service: AWSBatch; Status Code: 429; Error Code: TooManyRequestsException)"
  (https://repost.aws/knowledge-center/aws-batch-requests-error). Modelled as a bucket of 50
  refilled at 50 a second, per action (SubmitJob, RegisterJobDefinition, DescribeJobs).
* Step Functions: "Some Step Functions API actions are throttled using a token bucket scheme";
  StartExecution of Standard workflows: bucket 1,300, refill 300 a second (us-east-1 and the
  other large Regions), answered with ``ThrottlingException``
  (https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html, "Quotas related to
  API action throttling").
* Lambda: 1,000 concurrent executions per account and Region by default ("Use
  GetAccountSettings to see your Regional concurrency limit"), and a function's reserved
  concurrency "prevents it from scaling beyond that level" (PutFunctionConcurrency,
  https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html); past either,
  Invoke is throttled: "Rate exceeded" and "TooManyRequestsException" (HTTP 429,
  https://repost.aws/knowledge-center/lambda-troubleshoot-throttling), which Step Functions
  reports as ``Lambda.TooManyRequestsException``.

* Step Functions state transitions: "Quotas related to state throttling", a token bucket
  shared by every state machine of the account (CDK's StateTransitionMetric: "These rate limits
  are shared across all state machines"; its ThrottledEvents metric is "the number of throttled
  state transitions"), Standard workflows bucket 5,000, refill 5,000 a second (large Regions).
  A throttled transition is delayed, not failed: the executor waits for the refill
  (``transition_gate``) and the wait is recorded as a throttled ``StateTransition``.

The operator's own calls (provisioning, the account administrator) are not throttled here, so a
lowered quota tests the stack's principals, not the rehearsal's set-up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: action -> (refill per second, bucket size); the documented defaults (see the module's text)
RATES: dict[str, tuple[float, float]] = {
    "batch:SubmitJob": (50.0, 50.0),
    "batch:RegisterJobDefinition": (50.0, 50.0),
    "batch:DescribeJobs": (50.0, 50.0),
    "states:StartExecution": (300.0, 1300.0),
    "states:StateTransition": (5000.0, 5000.0),
}
LAMBDA_CONCURRENCY = 1000  # per account and Region
#: the error each service answers a throttled request with: (code, HTTP status, message)
ERRORS: dict[str, tuple[str, int, str]] = {
    "batch": ("TooManyRequestsException", 429, "Too Many Requests"),
    "states": ("ThrottlingException", 400, "Rate exceeded"),
}


class Throttled(Exception):
    """A request over its quota; ``code`` is the error AWS answers with."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


class TokenBucket:
    """Step Functions' scheme (and a fair model of Batch's TPS): each call takes a token, the
    bucket refills at ``rate`` a second up to ``size``; no token, the call is throttled."""

    def __init__(self, rate: float, size: float) -> None:
        self.rate, self.size = rate, size
        self._tokens = size
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.size, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


@dataclass
class Quotas:
    """The rehearsal's quotas: request buckets by ``service:Action``, Lambda concurrency."""

    buckets: dict[str, TokenBucket]
    lambda_concurrency: int

    @classmethod
    def from_setting(cls, text: str | None) -> Quotas:
        """``WDL2SFN_REHEARSAL_QUOTAS``: JSON ``{"batch:SubmitJob": [rate, bucket],
        "LambdaConcurrency": N}``; a key it leaves out keeps AWS's default."""
        try:
            given: dict[str, Any] = json.loads(text) if text else {}
        except ValueError:
            given = None  # type: ignore[assignment]
        if not isinstance(given, dict):
            raise ValueError(f"WDL2SFN_REHEARSAL_QUOTAS must be a JSON object, not {text!r}")
        rates = dict(RATES)
        for key, value in given.items():
            if key == "LambdaConcurrency":
                continue
            if key not in RATES or not _pair(value):
                raise ValueError(f"WDL2SFN_REHEARSAL_QUOTAS: {key!r} must be one of "
                                 f"{', '.join(RATES)} with [rate, bucket]; got {value!r}")  # fmt: skip
            rates[key] = (float(value[0]), float(value[1]))
        buckets = {key: TokenBucket(rate, size) for key, (rate, size) in rates.items()}
        concurrency = given.get("LambdaConcurrency", LAMBDA_CONCURRENCY)
        if not isinstance(concurrency, int) or concurrency < 0:
            raise ValueError("WDL2SFN_REHEARSAL_QUOTAS: LambdaConcurrency must be a whole number "
                             f"of concurrent executions, not {concurrency!r}")  # fmt: skip
        return cls(buckets, concurrency)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}  # function name -> invocations in flight

    def request(self, service: str, action: str) -> None:
        """Take a token for ``service:action``; Throttled (the service's error) if none."""
        bucket = self.buckets.get(f"{service}:{action}")
        if bucket is not None and not bucket.take():
            raise Throttled(*ERRORS[service])

    def acquire(self, function: str, reserved: int | None) -> None:
        """One more Lambda invocation of ``function`` in flight (``release`` ends it); Throttled
        if the account's concurrency, or the function's reserved concurrency, is used up."""
        with self._lock:
            total = sum(self._running.values())
            mine = self._running.get(function, 0)
            if reserved is not None and mine >= reserved:
                raise Throttled("TooManyRequestsException", 429, "Rate Exceeded. (reserved "
                                f"concurrency of {reserved} in use: {function})")  # fmt: skip
            if total >= self.lambda_concurrency:
                raise Throttled("TooManyRequestsException", 429, "Rate Exceeded. (account "
                                f"concurrency of {self.lambda_concurrency} in use)")  # fmt: skip
            self._running[function] = mine + 1

    def transition_gate(self, record: Callable[..., None], machine: Any) -> Callable[[str], None]:
        """The executor's gate before each state ``machine`` enters: a token of the account's
        state-transition bucket, else a wait for the refill, recorded (``record``, the
        engine's ``record_call``) as a throttled StateTransition of the machine's role."""
        bucket = self.buckets["states:StateTransition"]
        pause = min(1.0, 1.0 / bucket.rate) if bucket.rate > 0 else 1.0
        role = str(machine.roleArn).rsplit("/", 1)[-1]

        def enter(_state: str) -> None:
            if bucket.take():
                return
            record(role, "states", "StateTransition", machine.arn, True, 0, True)
            while not bucket.take():
                time.sleep(pause)

        return enter

    def release(self, function: str) -> None:
        with self._lock:
            self._running[function] -= 1


def check_settings(quotas: str | None, runnable_seconds: str | None) -> None:
    """The rehearsal's quota and placement settings, refused before anything is built (a usage
    error naming the variable), not in the middle of a run."""
    from ..errors import UsageError

    try:
        Quotas.from_setting(quotas)
    except ValueError as exn:
        raise UsageError(str(exn)) from None
    try:
        valid = runnable_seconds is None or float(runnable_seconds) >= 0
    except ValueError:
        valid = False
    if not valid:
        raise UsageError("WDL2SFN_REHEARSAL_RUNNABLE_SECONDS must be a number of seconds, not "
                         f"{runnable_seconds!r}")  # fmt: skip


def _pair(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and v >= 0 for v in value)
    )
