"""`wdl2sfn cost RUN`: what a run cost, measured from its execution histories (local and AWS),
beside what one miniwdl-aws engine job would have cost for the same wall time.

The same events exist in both places (history.jsonl files locally, GetExecutionHistory on AWS,
across the parent, Distributed Map children and child machines' executions):

* **state transitions**: one per state entered (Step Functions bills each step completed);
* **Lambda**: one request and ``duration x memory`` GB-seconds per ``lambda`` Task, from its
  TaskStarted to its end (memory: on AWS the function's ``MemorySize``; locally the CDK stack's
  sizes, 2048 MB for prepare and collect, 1024 MB for the other steps);
* **Batch**: per job (the ``batch`` Task's result or failure cause is the DescribeJobs job, so
  StartedAt/StoppedAt and the container's VCPU, MEMORY and GPU requirements), vCPU-hours,
  GB-hours and GPU-hours of each attempt;
* **the engine job**: a miniwdl-aws head job (Fargate, 1 vCPU, 4 GiB) running from the
  execution's start to its end.

Prices are the public us-east-1 list prices of docs/cost.md (``compiler.report``'s constants),
plus a GPU-hour at the g4dn.xlarge on-demand price (1 NVIDIA T4, $0.526/h, the instance family
the GPU queue's compute environment uses). Batch vCPU and memory are priced as Fargate's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..compiler.report import (
    FARGATE_GB_HOUR,
    FARGATE_VCPU_HOUR,
    LAMBDA_GB_SECOND,
    LAMBDA_PER_REQUEST,
    PRICE_PER_TRANSITION,
)

GPU_HOUR = 0.526  # g4dn.xlarge on-demand, us-east-1 (1 GPU)
ENGINE_VCPU, ENGINE_GB = 1, 4  # a miniwdl-aws engine job
BIG_STEPS, BIG_MB, SMALL_MB = ("prepare", "collect"), 2048, 1024  # cdk_app's memory_size
ENDS = ("TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStateAborted")


@dataclass
class Usage:
    """What a run used, counted from its events."""

    transitions: int = 0
    lambda_requests: int = 0
    lambda_seconds: dict[str, float] = field(default_factory=dict)  # function -> seconds
    jobs: int = 0
    vcpu_hours: float = 0.0
    gb_hours: float = 0.0
    gpu_hours: float = 0.0
    wall_seconds: float = 0.0

    def add_events(self, events: list[dict[str, Any]]) -> None:
        functions: dict[int, str] = {}  # TaskScheduled id -> Lambda function
        started: dict[int, tuple[str, float]] = {}  # TaskStarted id -> (function, time)
        for event in events:
            kind, event_id = str(event.get("type", "")), int(event.get("id", 0))
            if kind.endswith("StateEntered"):
                self.transitions += 1
            elif kind == "TaskScheduled":
                details = event.get("taskScheduledEventDetails") or {}
                if details.get("resourceType") == "lambda":
                    params = _parsed(details.get("parameters")) or {}
                    functions[event_id] = str(params.get("FunctionName", "lambda"))
            elif kind == "TaskStarted":
                function = functions.pop(int(event.get("previousEventId", 0)), None)
                if function is not None:
                    started[event_id] = (function, _seconds(event.get("timestamp")))
            elif kind in ENDS:
                begun = started.pop(int(event.get("previousEventId", 0)), None)
                if begun is not None:
                    self.lambda_requests += 1
                    took = max(0.0, _seconds(event.get("timestamp")) - begun[1])
                    self.lambda_seconds[begun[0]] = self.lambda_seconds.get(begun[0], 0.0) + took
                self._add_job(event)

    def _add_job(self, event: dict[str, Any]) -> None:
        details: dict[str, Any] = next(
            (v for k, v in event.items() if k.endswith("EventDetails")), {}
        )
        if details.get("resourceType") != "batch":
            return
        job = _parsed(details.get("output") or details.get("cause"))
        if not isinstance(job, dict) or "JobId" not in job:
            return
        self.jobs += 1
        vcpu, gb, gpu = resources(job)
        for attempt in job.get("Attempts") or [job]:
            millis = int(attempt.get("StoppedAt") or 0) - int(attempt.get("StartedAt") or 0)
            hours = max(0, millis) / 3_600_000 if attempt.get("StartedAt") else 0.0
            self.vcpu_hours += vcpu * hours
            self.gb_hours += gb * hours
            self.gpu_hours += gpu * hours


def resources(job: dict[str, Any]) -> tuple[float, float, float]:
    """(vCPU, GB, GPU) of a DescribeJobs job (PascalCase, as Step Functions returns it)."""
    container = job.get("Container") or {}
    found = {str(r.get("Type")): float(r.get("Value") or 0)
             for r in container.get("ResourceRequirements") or []}  # fmt: skip
    vcpu = found.get("VCPU") or float(container.get("Vcpus") or 1)
    gb = (found.get("MEMORY") or float(container.get("Memory") or 2048)) / 1024
    return vcpu, gb, found.get("GPU", 0.0)


def measure(executions: Iterable[list[dict[str, Any]]]) -> Usage:
    """Usage of a run from each of its executions' events (the first is the parent's)."""
    usage = Usage()
    for i, events in enumerate(executions):
        usage.add_events(events)
        if i == 0 and events:
            usage.wall_seconds = _seconds(events[-1].get("timestamp")) - _seconds(
                events[0].get("timestamp")
            )
    return usage


def stack_memory_mb(function: str) -> int:
    """A step function's memory as the CDK stack sizes it (local runs have no function)."""
    name = function.rsplit(":", 1)[-1].lower()
    return BIG_MB if any(step in name for step in BIG_STEPS) else SMALL_MB


def priced(usage: Usage, memory_mb: Callable[[str], int] = stack_memory_mb) -> dict[str, Any]:
    """The run's usage and cost, beside one miniwdl-aws engine job for the same wall time."""
    gb_seconds = sum(secs * memory_mb(f) / 1024 for f, secs in usage.lambda_seconds.items())
    items = {
        "state_transitions": usage.transitions * PRICE_PER_TRANSITION,
        "lambda_requests": usage.lambda_requests * LAMBDA_PER_REQUEST,
        "lambda_gb_seconds": gb_seconds * LAMBDA_GB_SECOND,
        "batch_vcpu_hours": usage.vcpu_hours * FARGATE_VCPU_HOUR,
        "batch_gb_hours": usage.gb_hours * FARGATE_GB_HOUR,
        "batch_gpu_hours": usage.gpu_hours * GPU_HOUR,
    }
    hours = usage.wall_seconds / 3600
    engine = hours * (ENGINE_VCPU * FARGATE_VCPU_HOUR + ENGINE_GB * FARGATE_GB_HOUR)
    orchestration = sum(items[k] for k in ("state_transitions", "lambda_requests",
                                           "lambda_gb_seconds"))  # fmt: skip
    return {
        "usage": {
            "state_transitions": usage.transitions,
            "lambda_requests": usage.lambda_requests,
            "lambda_gb_seconds": round(gb_seconds, 3),
            "batch_jobs": usage.jobs,
            "batch_vcpu_hours": round(usage.vcpu_hours, 6),
            "batch_gb_hours": round(usage.gb_hours, 6),
            "batch_gpu_hours": round(usage.gpu_hours, 6),
            "wall_hours": round(hours, 6),
        },
        "usd": {k: round(v, 6) for k, v in items.items()},
        "total_usd": round(sum(items.values()), 6),
        "orchestration_usd": round(orchestration, 6),
        "miniwdl_aws_engine_job_usd": round(engine, 6),
        "compute_usd": round(sum(items.values()) - orchestration, 6),
        "prices": "us-east-1 list prices, docs/cost.md",
    }


def _seconds(stamp: Any) -> float:
    if not isinstance(stamp, str) or not stamp:
        return 0.0
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _parsed(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None
