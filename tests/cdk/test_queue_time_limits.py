"""Jobs that can never be placed leave RUNNABLE: every queue cancels them (issue 20 item 4).

AWS Batch user guide, "Automatic remediation with jobStateTimeLimitActions"
(https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable_time_limit_actions.html):
"When a job has been in a RUNNABLE state with the defined statusReason, AWS Batch performs the
action specified after maxTimeSeconds have elapsed." and "Currently, for job queues connected to
Amazon ECS, Amazon EKS, or Fargate compute environments, the only action you can use with
jobStateLimitActions.action is to cancel a job." The reasons are the ones AWS lists there:
``MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE`` ("All compute environments have a maxvCpus
parameter that is smaller than the job requirements"), ``MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT``
("None of the compute environments have instances that meet the job requirements") and
``CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY``.
"""

from __future__ import annotations

import json

from .conftest import Synth

NEVER = {
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
}


def _actions(synth: Synth) -> dict[str, dict[str, dict]]:
    return {
        logical: {a["Reason"]: a for a in queue["Properties"].get("JobStateTimeLimitActions", [])}
        for logical, queue in synth.resources("AWS::Batch::JobQueue").items()
    }


def test_every_queue_cancels_a_job_no_compute_environment_can_ever_run(any_variant: Synth) -> None:
    for logical, actions in _actions(any_variant).items():
        assert NEVER <= set(actions), logical
        for reason in NEVER:
            action = actions[reason]
            assert (action["Action"], action["State"]) == ("CANCEL", "RUNNABLE")
            assert action["MaxTimeSeconds"] == 600  # AWS's minimum: it can never run


def test_a_job_waiting_for_capacity_is_cancelled_after_four_hours(fsx: Synth) -> None:
    for logical, actions in _actions(fsx).items():
        action = actions["CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"]
        assert (action["Action"], action["MaxTimeSeconds"]) == ("CANCEL", 4 * 3600), logical


def test_prepare_is_told_each_queues_limits(fsx: Synth) -> None:
    """The runner (FSx: it runs prepare) gets ``WDL2SFN_QUEUE_LIMITS``: the compute
    environments' max vCPUs (context ``max_vcpus``, ``spot_max_vcpus``, ``gpu_max_vcpus``)."""
    (runner,) = [
        d
        for k, d in fsx.resources("AWS::Batch::JobDefinition").items()
        if k.startswith("RunnerJobDefinition")
    ]
    env = {
        e["Name"]: e["Value"] for e in runner["Properties"]["ContainerProperties"]["Environment"]
    }
    limits = json.loads(env["WDL2SFN_QUEUE_LIMITS"])
    assert limits["gpu"] == {"max_vcpus": 64, "max_gpus": 8}
    assert limits["cpu"] == {"max_vcpus": 256, "max_gpus": 0}
