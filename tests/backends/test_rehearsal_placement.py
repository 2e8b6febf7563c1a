"""Placement as AWS Batch decides it (backends/rehearsal/placement.py): which jobs no compute
environment of a queue can ever place, with the statusReason Batch gives them, and how long the
queue's jobStateTimeLimitActions let them stay RUNNABLE."""

from __future__ import annotations

from wdl2sfn.backends.local.batch.admission import Need
from wdl2sfn.backends.rehearsal.placement import never_placed, time_limit
from wdl2sfn.backends.rehearsal.provision import Compute

CPU = Compute("EC2", [], max_vcpus=256, instance_types=["optimal"])
GPU = Compute("EC2", [], max_vcpus=64, instance_types=["g4dn", "g5", "g6"])
FARGATE = Compute("FARGATE", [], max_vcpus=16)
ACTIONS = [
    {"Action": "CANCEL", "MaxTimeSeconds": 600, "State": "RUNNABLE",
     "Reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"},
]  # fmt: skip


def test_memory_above_every_optimal_instance_type_is_a_job_resource_requirement() -> None:
    assert never_placed(Need(4, 1000 * 1024, 0), [CPU]) == (
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
    )
    assert never_placed(Need(4, 400 * 1024, 0), [CPU]) is None  # r4.16xlarge: 488 GiB


def test_a_job_an_instance_holds_but_above_max_vcpus_is_a_compute_environment_max_resource() -> (
    None
):
    """8 GPUs fit a g5.48xlarge (192 vCPUs), but 96 vCPUs exceed a 64-vCPU environment."""
    assert never_placed(Need(96, 1024, 8), [GPU]) == (
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
    )
    assert never_placed(Need(8, 1024, 8), [GPU]) is None


def test_gpus_on_an_environment_of_cpu_instance_types_are_never_placed() -> None:
    assert never_placed(Need(1, 1024, 1), [CPU]) == "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"


def test_fargate_places_up_to_its_max_vcpus() -> None:
    assert never_placed(Need(4, 8192, 0), [FARGATE]) is None
    assert never_placed(Need(32, 8192, 0), [FARGATE]) == (
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
    )


def test_the_queues_action_for_the_reason_sets_the_wait_and_a_setting_shortens_it() -> None:
    reason = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
    assert time_limit(ACTIONS, reason, None) == 600
    assert time_limit(ACTIONS, reason, 2.0) == 2.0
    assert time_limit(ACTIONS, "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", 2.0) is None
