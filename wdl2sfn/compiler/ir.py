"""The plan: what the compiler decided, before it is written as ASL.

A plan is a tree of steps. Leaves are the units that cost states (task calls, subworkflow state
machines); scatters and conditionals hold a body; Seq/Par say what runs after or beside what.
Declarations never appear: the run-time steps evaluate them lazily, so they cost no transitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CallUnit:
    ref: str  # node reference (see workflow_index)
    label: str  # "call align" / "call sub.align"
    line: int
    file: str = ""

    @property
    def key(self) -> str:
        """The unit's name in joins and the schedule: its node reference."""
        return self.ref


@dataclass
class ScatterUnit:
    ref: str
    label: str  # "scatter sample in samples"
    line: int
    body: Step
    has_inner_scatter: bool = False  # a nested scatter with calls: one child execution per shard
    file: str = ""  # the WDL file (base name) holding it
    depth: int = 1  # scatters around its shards, itself included (length of a shard index)
    #: shards in flight per copy: its share of the cap among pieces at once, lowered under the
    #: nest's ceiling (concurrency.py; 0: the per-scatter cap)
    max_jobs: int = 0
    part: str = ""  # one part of a split body (fission.py): its unit key, else ""

    @property
    def key(self) -> str:
        """The unit's name in joins and the schedule (parts of one scatter share its ref)."""
        return self.part or self.ref


@dataclass
class IfUnit:
    ref: str
    label: str  # "if do_merge"
    line: int
    body: Step
    file: str = ""
    part: str = ""  # one part of a split body (fission.py): its unit key, else ""

    @property
    def key(self) -> str:
        """The unit's name in joins and the schedule (parts of one if share its ref)."""
        return self.part or self.ref


@dataclass
class SubMachineUnit:
    """A subworkflow call compiled as its own state machine (states:startExecution.sync:2)."""

    ref: str
    label: str
    line: int
    machine: str  # the child plan's name; its ARN placeholder is StateMachineArn_<machine>

    @property
    def key(self) -> str:
        """The unit's name in joins and the schedule: its node reference."""
        return self.ref


@dataclass
class PartUnit:
    """A piece of a region moved into a child state machine to keep every definition under
    Step Functions' 1 MB limit (states:startExecution.sync:2). Node references stay absolute."""

    label: str
    machine: str  # the child plan's name; its ARN placeholder is StateMachineArn_<machine>
    body: Step

    @property
    def key(self) -> str:
        """The unit's name in the schedule (it holds no node of its own): its machine's."""
        return self.machine


@dataclass
class LaneItem:
    """A unit in a lane: it may first wait for units of other lanes (an exact join) and, when
    units of other lanes wait for it, release them once done."""

    unit: Unit
    wait_for: list[str] = field(default_factory=list)  # refs of units in other lanes
    waiters: list[str] = field(default_factory=list)  # refs of units that wait for this one


@dataclass
class Lane:
    """One branch of a non-series-parallel group (the group is a Par of Lanes)."""

    items: list[LaneItem]


@dataclass
class Seq:
    steps: list[Step]


@dataclass
class Par:
    branches: list[Step]


Unit = CallUnit | ScatterUnit | IfUnit | SubMachineUnit | PartUnit
Step = Unit | Seq | Par | Lane | None


@dataclass
class Options:
    filesystem: str = "efs"  # efs | fsx
    max_concurrency: int = 0  # cap on concurrent Batch jobs per scatter (0: AWS defaults)
    subworkflows: str = "inline"  # inline | machine
    max_definition_bytes: int = 900_000  # split into child machines past this (AWS limit: 1 MiB)
    check_quant: bool = True  # False: miniwdl's --no-quant-check (also at run time)
    history_limit: int = 25_000  # events per execution (AWS's hard quota; lower only in tests)
    concurrency_ceiling: int = 1000  # nested scatters' product of MaxConcurrency (Lambda quota)


@dataclass
class Plan:
    name: str  # workflow name (or the child machine's name)
    root: Step
    options: Options
    digest: str = ""
    scoped: bool = False  # a child machine: node references are relative to the input's scope
    kind: str = "workflow"  # workflow | subworkflow | part (children start without init/outputs)
    added_waits: list[tuple[str, str]] = field(default_factory=list)
    children: dict[str, Plan] = field(default_factory=dict)
    #: scatters whose MaxConcurrency the ceiling lowered (concurrency.cap_nested_scatters)
    concurrency_caps: list[dict[str, object]] = field(default_factory=list)
    #: pieces of split scatters sharing their scatter's cap (concurrency._share_pieces)
    concurrency_shares: list[dict[str, object]] = field(default_factory=list)
