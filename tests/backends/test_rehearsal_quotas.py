"""The rehearsal's quotas (backends/rehearsal/quotas.py): token buckets as Step Functions
describes them (a bucket of tokens refilled at a rate; no token, throttled) and Lambda's account
and reserved concurrency."""

from __future__ import annotations

import pytest

from wdl2sfn.backends.rehearsal.quotas import RATES, Quotas, Throttled, TokenBucket


def test_a_bucket_allows_its_burst_then_throttles_until_it_refills() -> None:
    bucket = TokenBucket(rate=0.0, size=2)
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_a_throttled_batch_request_is_too_many_requests_429() -> None:
    quotas = Quotas.from_setting('{"batch:SubmitJob": [0, 1]}')
    quotas.request("batch", "SubmitJob")
    with pytest.raises(Throttled) as caught:
        quotas.request("batch", "SubmitJob")
    assert (caught.value.code, caught.value.status) == ("TooManyRequestsException", 429)
    quotas.request("batch", "ListJobs")  # not modelled: never throttled


def test_defaults_are_awss_documented_numbers() -> None:
    quotas = Quotas.from_setting(None)
    assert RATES["states:StartExecution"] == (300.0, 1300.0)
    assert RATES["batch:SubmitJob"] == (50.0, 50.0)
    assert quotas.lambda_concurrency == 1000


def test_a_functions_reserved_concurrency_caps_it_below_the_accounts() -> None:
    quotas = Quotas.from_setting(None)
    quotas.acquire("prepare", reserved=1)
    with pytest.raises(Throttled, match="reserved concurrency of 1"):
        quotas.acquire("prepare", reserved=1)
    quotas.acquire("collect", reserved=None)  # another function: the account has room
    quotas.release("prepare")
    quotas.acquire("prepare", reserved=1)
