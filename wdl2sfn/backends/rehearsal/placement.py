"""Placement as AWS Batch decides it: a job no compute environment of its queue can ever place
stays RUNNABLE, and the queue's ``jobStateTimeLimitActions`` then cancel it.

AWS Batch ("Jobs stuck in a RUNNABLE status",
https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable.html): a RUNNABLE job
at the head of the queue that cannot be placed gets its reason "updated into the statusReason
field as a part of ListJobs and DescribeJobs"; "When a job has been in a RUNNABLE state with the
defined statusReason, AWS Batch performs the action specified after maxTimeSeconds have
elapsed" (job_stuck_in_runnable_time_limit_actions.html). The reasons modelled here:
``MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT`` ("None of the compute environments have instances
that meet the job requirements") and ``MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE`` ("All
compute environments have a maxvCpus parameter that is smaller than the job requirements"),
the CDK's JobStateTimeLimitActionsReason.

Instance types: the largest of each family the stack's environments name (vCPUs, memory MiB,
GPUs, from the EC2 instance type pages); ``optimal`` is "instance types (from the C4, M4, and R4
instance families)" (ComputeResource, instanceTypes). An environment with a type or family not
listed here, or Fargate, is taken to place anything up to its maxvCpus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..local.batch.admission import Need
from .provision import Compute

GIB = 1024
#: the largest instance of each family (or the type itself): (vCPUs, memory MiB, GPUs)
LARGEST: dict[str, tuple[float, int, int]] = {
    "c4": (36, 60 * GIB, 0), "m4": (64, 256 * GIB, 0), "r4": (64, 488 * GIB, 0),
    "g4dn": (96, 384 * GIB, 8), "g5": (192, 768 * GIB, 8), "g6": (192, 768 * GIB, 8),
    "m6i.large": (2, 8 * GIB, 0), "m6i.xlarge": (4, 16 * GIB, 0), "c6i.xlarge": (4, 8 * GIB, 0),
}  # fmt: skip
OPTIMAL = ("c4", "m4", "r4")
JOB_RESOURCE = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
MAX_RESOURCE = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"


def never_placed(need: Need, environments: Iterable[Compute]) -> str | None:
    """The statusReason Batch gives a job that none of ``environments`` can ever place (no
    instance type is big enough, or every maxvCpus is smaller than it), or None."""
    some_type_fits = False
    for compute in environments:
        types = _instance_types(compute)
        if types is not None and not any(_fits(need, t) for t in types):
            continue
        some_type_fits = True
        if compute.max_vcpus is None or need.vcpus <= compute.max_vcpus:
            return None
    return MAX_RESOURCE if some_type_fits else JOB_RESOURCE


def time_limit(actions: Sequence[Mapping[str, Any]], reason: str,
               override: float | None) -> float | None:  # fmt: skip
    """Seconds a job RUNNABLE for ``reason`` waits before the queue's action cancels it: the
    matching action's maxTimeSeconds (``override`` instead, if given); None: no action, the
    job stays RUNNABLE, as on AWS."""
    for action in actions:
        if action.get("Reason") == reason and action.get("State", "RUNNABLE") == "RUNNABLE":
            return override if override is not None else float(action["MaxTimeSeconds"])
    return None


def _instance_types(compute: Compute) -> list[tuple[float, int, int]] | None:
    """The allowed instance types' sizes, or None if any is unknown (placed as if it fits)."""
    if compute.platform.startswith("FARGATE") or not compute.instance_types:
        return None
    names = [n for t in compute.instance_types for n in (OPTIMAL if t == "optimal" else (t,))]
    if any(n not in LARGEST for n in names):
        return None
    return [LARGEST[n] for n in names]


def _fits(need: Need, size: tuple[float, int, int]) -> bool:
    vcpus, memory, gpus = size
    return need.vcpus <= vcpus and need.memory <= memory and need.gpus <= gpus
