"""History-event and transition arithmetic, read off the emitted ASL itself.

Step Functions fails a Standard execution at 25,000 history events. The compiler sizes each
Distributed Map batch from these counts and `compile --report` prints them. They are computed from
the states the emitter actually wrote (not from a parallel model of the plan), so a change of
shape (an FSx run-time step is three states: runner job, `s3:getObject`, Pass) is counted the
moment it is emitted. The counts follow the events AWS writes on the happy path of each state:

* Task (request-response, e.g. lambda:invoke, aws-sdk:*): Entered, Scheduled, Started,
  Succeeded, Exited                                                       (5)
* Task `.sync` / `.waitForTaskToken`: the same plus Submitted              (6)
* Choice / Pass / Succeed / Wait / Fail: Entered, Exited                   (2)
* Parallel: Entered, Started, Succeeded, Exited                           (4) + branches
* inline Map: Entered, Started, Succeeded, Exited                         (4) + iterations
* an inline Map iteration: IterationStarted, IterationSucceeded           (2) + body
* Distributed Map: Entered, Started, MapRunStarted, MapRunSucceeded,
  Succeeded, Exited                                                       (6) (items run in children)

A graph's count is its longest happy path (Next, Choice rules, Default; never Catch), so a
`cached?` Choice counts the job it may skip.

A call is one `states:startExecution.sync:2` Task (6 events in the execution running it) that
starts a call machine execution: that execution's events are its own history (counted once per
call instance, against its own limit), never the caller's. Its transitions are billed all the
same, so transition counts may be given the machines a Task starts (`Machines`, by the
StateMachineArn it names) and add one execution of each, once per entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TASK = 5
SYNC_TASK = 6
SIMPLE_STATE = 2
PARALLEL = 4
MAP_STATE = 4
DISTRIBUTED_MAP_STATE = 6
ITERATION = 2
EXECUTION = 2  # ExecutionStarted, ExecutionSucceeded
HISTORY_LIMIT = 25_000
BUDGET_SHARE = 0.8  # leave room for retries of throttled calls inside a child
ITEMS_PER_BATCH_CAP = 500
CHILD_FIXED = EXECUTION + MAP_STATE  # a batch child: its execution and its inline Map

#: the call's Task, then its call machine's prepare, cached?, run and collect
CALL_TRANSITIONS = 5

Weight = Callable[[dict[str, Any], int], int]
#: machines a `startExecution` Task may start, by the StateMachineArn it names (a placeholder)
Machines = dict[str, dict[str, Any]]


def budget(history_limit: int = HISTORY_LIMIT) -> int:
    """Events a Distributed Map child may plan for (the rest absorbs retried calls)."""
    return int(history_limit * BUDGET_SHARE)


def is_distributed(state: dict[str, Any]) -> bool:
    config = state.get("ItemProcessor", {}).get("ProcessorConfig", {})
    return state.get("Type") == "Map" and config.get("Mode") == "DISTRIBUTED"


def successors(state: dict[str, Any]) -> list[str]:
    """Happy-path successors: Next, Choice rules, Default (a Catch is a failure path)."""
    out = [state["Next"]] if "Next" in state else []
    out += [rule["Next"] for rule in state.get("Choices", [])]
    if "Default" in state:
        out.append(state["Default"])
    return out


def longest_path(graph: dict[str, Any], weight: Weight, iterations: int = 1) -> int:
    """The heaviest path from StartAt to an end (iterative: chains run thousands of states)."""
    states = graph["States"]
    best: dict[str, int] = {}
    stack: list[tuple[str, bool]] = [(graph["StartAt"], False)]
    while stack:
        name, expanded = stack.pop()
        if name in best:
            continue
        nexts = [n for n in successors(states[name]) if n in states]
        if expanded:
            tail = max((best[n] for n in nexts), default=0)
            best[name] = weight(states[name], iterations) + tail
            continue
        stack.append((name, True))
        stack.extend((n, False) for n in nexts if n not in best)
    return best[graph["StartAt"]]


def state_events(state: dict[str, Any], iterations: int = 1) -> int:
    """Happy-path events one entry of `state` writes to the execution running it."""
    kind = state["Type"]
    if kind == "Task":
        resource = state.get("Resource", "")
        return SYNC_TASK if (".sync" in resource or ".waitForTaskToken" in resource) else TASK
    if kind == "Parallel":
        return PARALLEL + sum(graph_events(b) for b in state["Branches"])
    if kind == "Map":
        if is_distributed(state):
            return DISTRIBUTED_MAP_STATE
        body = graph_events(state["ItemProcessor"])
        return MAP_STATE + iterations * (ITERATION + body)
    return SIMPLE_STATE


def state_transitions(
    state: dict[str, Any], iterations: int = 1, machines: Machines | None = None
) -> int:
    """Billed transitions (one per state entered) of one entry of `state`, with those of the
    execution it starts when `machines` holds the machine it names."""
    kind = state["Type"]
    if kind == "Parallel":
        return 1 + sum(graph_transitions(b, 1, machines) for b in state["Branches"])
    if kind == "Map" and not is_distributed(state):
        return 1 + iterations * graph_transitions(state["ItemProcessor"], 1, machines)
    started = (machines or {}).get(str(state.get("Parameters", {}).get("StateMachineArn")))
    if kind == "Task" and started is not None:
        return 1 + graph_transitions(started)
    return 1


def graph_events(graph: dict[str, Any], iterations: int = 1) -> int:
    """Events of one run through `graph`; inline Maps in it run `iterations` items each."""
    return longest_path(graph, state_events, iterations)


def graph_transitions(
    graph: dict[str, Any], iterations: int = 1, machines: Machines | None = None
) -> int:
    def weight(state: dict[str, Any], n: int) -> int:
        return state_transitions(state, n, machines)

    return longest_path(graph, weight, iterations)


def shards_per_child(body: dict[str, Any], history_limit: int = HISTORY_LIMIT) -> int:
    """Shards per batch child so that the child, fixed events included, stays in its budget."""
    per_shard = ITERATION + max(1, graph_events(body))
    room = budget(history_limit) - CHILD_FIXED
    return max(1, min(ITEMS_PER_BATCH_CAP, room // per_shard))


def batch_of(state: dict[str, Any]) -> int:
    """Shards per child execution of a Distributed Map state (1 without an ItemBatcher)."""
    return int(state.get("ItemBatcher", {}).get("MaxItemsPerBatch", 1))


def child_events(state: dict[str, Any]) -> int:
    """Events of one full child execution of a Distributed Map state, as emitted."""
    return EXECUTION + graph_events(state["ItemProcessor"], batch_of(state))


def transitions_per_shard(state: dict[str, Any], machines: Machines | None = None) -> float:
    """Transitions per shard of a Distributed Map's full children (the batch Map included) and
    of the executions of `machines` (e.g. a call's) each shard starts."""
    batch = batch_of(state)
    return graph_transitions(state["ItemProcessor"], batch, machines) / batch


def execution_events(definition: dict[str, Any]) -> int:
    """Events of one execution of a whole machine (its scatters' shards run in children)."""
    return EXECUTION + graph_events(definition)


def distributed_maps(graph: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, state) of every Distributed Map in a definition, children's processors included."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, state in graph["States"].items():
        if is_distributed(state):
            found.append((name, state))
        for sub in state.get("Branches", []) + (
            [state["ItemProcessor"]] if "ItemProcessor" in state else []
        ):
            found.extend(distributed_maps(sub))
    return found
