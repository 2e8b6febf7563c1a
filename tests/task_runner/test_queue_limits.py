"""prepare refuses a call the stack's compute environments can never run (issue 20 item 4).

AWS Batch user guide, "Jobs stuck in RUNNABLE"
(https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable_time_limit_actions.html)
names ``MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE`` for a job whose compute environments
all have "a maxvCpus parameter that is smaller than the job requirements": such a job never
leaves RUNNABLE. The stack gives prepare each queue's limits (``WDL2SFN_QUEUE_LIMITS``); a call
above them fails at prepare, naming the call, the queue and the limit. Without the setting (a
local run) nothing is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import WDL

from wdl2sfn.task_runner.errors import WdlRuntimeError
from wdl2sfn.task_runner.task import prepare_task

from .test_task_failures import load_task, make_ctx

LIMITS = {"cpu": {"max_vcpus": 256, "max_gpus": 0}, "gpu": {"max_vcpus": 64, "max_gpus": 8}}


def _prepare(tmp_path: Path, runtime: str, limits: dict | None) -> None:
    task = load_task(tmp_path, f"task t {{ command <<< true >>> runtime {{ {runtime} }} }}")
    ctx = make_ctx(tmp_path)
    ctx.queue_limits = limits
    prepare_task(task, WDL.Env.Bindings(), ctx)


def test_a_call_needing_more_vcpus_than_its_queue_allows_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WdlRuntimeError, match=r"call t: .*96 vCPUs.*gpu queue.*at most 64"):
        _prepare(tmp_path, "cpu: 96 gpu: 1", LIMITS)


def test_a_call_needing_more_gpus_than_any_instance_has_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WdlRuntimeError, match=r"call t: .*16 GPUs.*gpu queue.*at most 8"):
        _prepare(tmp_path, "cpu: 8 gpu: 16", LIMITS)


def test_a_call_within_the_limits_is_prepared(tmp_path: Path) -> None:
    _prepare(tmp_path, "cpu: 64 gpu: 8", LIMITS)


def test_without_limits_nothing_is_refused(tmp_path: Path) -> None:
    _prepare(tmp_path, "cpu: 96 gpu: 16", None)
