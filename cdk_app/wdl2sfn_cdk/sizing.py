"""The FSx runner compute environment sized from the compiled workflows' scatter concurrency.

With FSx, every run-time step of every shard (prepare, collect...) is a 1-vCPU runner job, so
the runner environment's ``maxvCpus`` is how many shards' steps run at once: at 16, an 800-wide
scatter (a Distributed Map of 20 children, each an inline Map of 40) runs 16 steps at a time and
the other 784 shards wait in the runner queue. ``runner_max_vcpus=auto`` (the default) sizes it
to the most shards' steps the stack's compiled machines run at once (nested Map
``MaxConcurrency`` multiplied, the branches of a Parallel added up), at
least :data:`RUNNER_MIN_VCPUS` and at most :data:`RUNNER_AUTO_MAX_VCPUS` (docs/deploy.md says
what it costs). AWS Batch, ComputeResource ``maxvCpus``: "The maximum number of vCPUs that a
compute environment can support" -- an upper bound: with ``minvCpus`` 0 an idle environment
runs (and costs) nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from wdl2sfn.contract import CHILD_PREFIX

RUNNER_MIN_VCPUS = 16
#: the most ``auto`` asks for: the compiler's default nested-scatter concurrency ceiling (1000)
#: rounded up; a wider setting must be given explicitly (``-c runner_max_vcpus=N``)
RUNNER_AUTO_MAX_VCPUS = 1024
#: a Map without MaxConcurrency (or 0) runs "as many [iterations] concurrently as possible";
#: a Distributed Map's children are limited to 10,000 at a time
UNBOUNDED_MAP = 10_000
#: a child machine's ARN placeholder in a parent's startExecution Task
_CHILD = re.compile(r"\$\{" + re.escape(CHILD_PREFIX) + r"([A-Za-z0-9_-]+)\}")

Machines = Mapping[str, dict[str, Any]]  # child machine name -> its definition


def map_concurrency(definition: dict[str, Any], machines: Machines | None = None) -> int:
    """The most steps (shards' steps) a state graph runs at once, at least 1: the widest of its
    states, which run one after the other; a Parallel runs its branches at once (their widths
    add up: since scatter fission, sibling Maps of one scatter sit side by side); a Map runs its
    ``MaxConcurrency`` copies of its item processor (nested Maps multiply); a Task starting one
    of ``machines`` (a part, a subworkflow machine) runs that machine's width."""
    states = definition.get("States", {}).values()
    return max((_state_width(s, machines or {}) for s in states), default=1)


def _state_width(state: dict[str, Any], machines: Machines) -> int:
    if state.get("Type") == "Parallel":
        return sum(map_concurrency(branch, machines) for branch in state.get("Branches", []))
    if state.get("Type") == "Map":
        width = int(state.get("MaxConcurrency") or 0) or UNBOUNDED_MAP
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        return width * map_concurrency(processor, machines)
    started = _CHILD.fullmatch(str(state.get("Parameters", {}).get("StateMachineArn", "")))
    if state.get("Type") == "Task" and started and started.group(1) in machines:
        return map_concurrency(machines[started.group(1)], machines)
    return 1


def compiled_concurrency(compiled: Any) -> int:
    """:func:`map_concurrency` of a compiled workflow, its child machines counted where they
    are started (and each on its own, in case one is wider alone)."""
    machines = {name: child.definition for name, child in compiled.all_machines().items()}
    widths = [map_concurrency(d, machines) for d in [compiled.definition, *machines.values()]]
    return max(widths)


def runner_vcpus(widths: list[int]) -> int:
    """``runner_max_vcpus=auto``: one vCPU per concurrent shard step, within the bounds."""
    return max(RUNNER_MIN_VCPUS, min(RUNNER_AUTO_MAX_VCPUS, max(widths, default=1)))
