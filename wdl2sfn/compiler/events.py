"""History-event and transition arithmetic for compiled plans.

Step Functions fails a Standard execution at 25,000 history events. The compiler sizes each
Distributed Map batch from these counts, and `compile --report` prints them. The counts follow
the events AWS writes for the happy path of each state kind:

* Lambda Task: Entered, Scheduled, Started, Succeeded, Exited            (5)
* Batch .sync Task: the same plus Submitted                              (6)
* Choice / Pass / Succeed: Entered, Exited                                (2)
* Parallel: Entered, Started, Succeeded, Exited                           (4) + branches
* inline Map: Entered, Started, Succeeded, Exited                         (4)
* Distributed Map: Entered, Started, MapRunStarted, MapRunSucceeded,
  Succeeded, Exited                                                       (6)
* an inline Map iteration: IterationStarted, IterationSucceeded           (2) + body
"""

from __future__ import annotations

from . import ir

LAMBDA_TASK = 5
BATCH_TASK = 6
CHOICE = 2
PARALLEL = 4
MAP_STATE = 4
DISTRIBUTED_MAP_STATE = 6
ITERATION = 2
EXECUTION = 2  # ExecutionStarted, ExecutionSucceeded
HISTORY_LIMIT = 25_000
BATCH_CHILD_BUDGET = 20_000  # leave room for retries of throttled calls inside a child
ITEMS_PER_BATCH_CAP = 500

CALL_EVENTS = LAMBDA_TASK + CHOICE + BATCH_TASK + LAMBDA_TASK  # prepare, cached?, run, collect
CALL_TRANSITIONS = 4


def events(step: ir.Step) -> int:
    """Worst-case happy-path events one instance of `step` adds to the execution running it."""
    if step is None:
        return 0
    if isinstance(step, ir.Seq):
        return sum(events(s) for s in step.steps)
    if isinstance(step, ir.Par):
        return PARALLEL + sum(events(b) for b in step.branches)
    if isinstance(step, ir.CallUnit):
        return CALL_EVENTS
    if isinstance(step, ir.IfUnit):
        return LAMBDA_TASK + CHOICE + events(step.body)
    if isinstance(step, ir.ScatterUnit):
        return LAMBDA_TASK + DISTRIBUTED_MAP_STATE  # shards run in child executions
    assert isinstance(step, ir.SubMachineUnit | ir.PartUnit)
    return BATCH_TASK  # startExecution.sync: the same shape as a .sync task


def events_per_shard(body: ir.Step) -> int:
    return ITERATION + max(1, events(body))


def child_events(unit: ir.ScatterUnit, shards_in_child: int) -> int:
    """Events of one Distributed Map child execution holding `shards_in_child` shards."""
    if unit.has_inner_scatter:
        return EXECUTION + events(unit.body)
    return EXECUTION + MAP_STATE + shards_in_child * events_per_shard(unit.body)


def root_events(plan: ir.Plan) -> int:
    """Events of the top execution: init, the root step, outputs, upload."""
    fixed = EXECUTION + LAMBDA_TASK + LAMBDA_TASK + CHOICE + BATCH_TASK + CHOICE
    return fixed + events(plan.root)


def transitions(step: ir.Step) -> int:
    """State transitions of one instance of `step` (what Standard workflows are billed for)."""
    if step is None:
        return 0
    if isinstance(step, ir.Seq):
        return sum(transitions(s) for s in step.steps)
    if isinstance(step, ir.Par):
        return 1 + sum(transitions(b) for b in step.branches)
    if isinstance(step, ir.CallUnit):
        return CALL_TRANSITIONS
    if isinstance(step, ir.IfUnit):
        return 2 + transitions(step.body)
    if isinstance(step, ir.ScatterUnit):
        return 2
    return 1
