"""The schedule a compiled state machine really runs: a DAG as WDL, compiled, its ASL simulated.

Used by `critical_path.py` to measure stretch on the *emitted* definition in each filesystem
mode (EFS: Lambda joins; FSx: runner-job joins), not on the scheduler's abstract tree. Each node
of the DAG becomes `call t as <node>`; the simulation walks the ASL: a call's state (which runs
the stack's call machine) takes the node's duration, every other state none; a chain runs in
order (a Choice takes its Default), a Parallel ends when its last branch does; a `: wait` state
starts its successor when every unit it names in `after` has passed its `: release` state, or
has ended as a call whose input names `waiters` (its collect releases them). Releases are
only known once the branch holding them is simulated, so the whole machine is simulated again
until the release times stop changing (a DAG: at most one pass per lane hop).
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path
from typing import Any

from wdl2sfn.compiler import compile_workflow
from wdl2sfn.contract import CALL_MACHINE, ref

TASK = """
task t {
  input { Array[Int] x = [] }
  command <<< echo 1 >>>
  output { Int y = 1 }
}
"""
_AFTER = re.compile(r"'--field', 'after', '(\[[^']*\])'")
_NODE = re.compile(r"'--field', 'node', '(\"[^']*\")'")
_MACHINE = re.compile(r"\$\{StateMachineArn_(.+)\}")


def dag_wdl(items: list[str], deps: dict[str, set[str]]) -> str:
    """The DAG as a workflow: one call per node, fed by the outputs of its dependencies."""
    calls = []
    for n in items:
        feed = ", ".join(f"{d}.y" for d in sorted(deps.get(n, ())))
        calls.append(f"  call t as {n} {{ input: x = [{feed}] }}")
    return "version 1.1\nworkflow dag {\n" + "\n".join(calls) + "\n}\n" + TASK


Machines = dict[str, dict[str, Any]]  # "" is the root; split parts by machine name


def compile_dag(items: list[str], deps: dict[str, set[str]], filesystem: str) -> Machines:
    """The root definition and the parts it was split into (a large DAG is)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dag.wdl"
        path.write_text(dag_wdl(items, deps))
        compiled = compile_workflow(str(path), filesystem=filesystem)
    machines = {name: c.definition for name, c in compiled.all_machines().items()}
    return {"": compiled.definition, **machines}


def join_fields(state: dict[str, Any]) -> tuple[str, list[str]]:
    """(node, after) of a wait or release state, in either mode's encoding."""
    params = state.get("Parameters", {})
    payload = params.get("Payload")
    if payload is not None:  # EFS: lambda:invoke(.waitForTaskToken) with the event as Payload
        return str(payload.get("node", "")), list(payload.get("after", []))
    command = str(params.get("ContainerOverrides", {}).get("Command.$", ""))
    node, after = _NODE.search(command), _AFTER.search(command)
    return (json.loads(node.group(1)) if node else "", json.loads(after.group(1)) if after else [])


class Simulation:
    """Start and end time of each node's job in one run of the definition."""

    def __init__(self, machines: Machines, durations: dict[str, float]) -> None:
        self.machines = machines
        self.definition = machines[""]
        self.durations = durations
        self.released: dict[str, float] = {}
        self.jobs: dict[str, tuple[float, float]] = {}

    def run(self, max_passes: int = 10_000) -> float:
        for _ in range(max_passes):
            before = dict(self.released)
            self.jobs = {}
            end = self.graph(self.definition, 0.0)
            if self.released == before and math.isfinite(end):
                return end
        raise RuntimeError("the joins never settle (a wait nobody releases?)")

    def graph(self, graph: dict[str, Any], t: float) -> float:
        name: str | None = graph["StartAt"]
        while name is not None:
            state = graph["States"][name]
            t = self.state(name, state, t)
            name = state.get("Next") or state.get("Default")
        return t

    def state(self, name: str, state: dict[str, Any], t: float) -> float:
        if state["Type"] == "Parallel":
            return max([t, *(self.graph(b, t) for b in state["Branches"])])
        part = _MACHINE.search(str(state.get("Parameters", {}).get("StateMachineArn", "")))
        if part:  # a part of a split machine, run as a child execution (.sync:2)
            return self.graph(self.machines[part.group(1)], t)
        if name.endswith(": wait"):
            _, after = join_fields(state)
            return max([t, *(self.released.get(ref, math.inf) for ref in after)])
        if name.endswith(": release"):
            if math.isfinite(t):
                self.released[join_fields(state)[0]] = t
            return t
        call_input = state.get("Parameters", {}).get("Input", {})
        if state.get("Parameters", {}).get("StateMachineArn") == ref(CALL_MACHINE):
            # a call: its job, in the stack's call machine, whose collect releases its waiters
            key = self.call_key(name, call_input)
            end = t + self.durations[key]
            self.jobs[key] = (t, end)
            if call_input.get("waiters") and math.isfinite(end):
                self.released[str(call_input["node"])] = end
            return end
        return t

    def call_key(self, name: str, call_input: dict[str, Any]) -> str:
        """What `durations` and `jobs` know a call by: here its label without `call `."""
        return name[len("call ") :]


def asl_makespan(machines: Machines, items: list[str], deps: dict[str, set[str]],
                 durations: dict[str, float]) -> float:  # fmt: skip
    """The run's length; checks every node ran once, after each of its dependencies."""
    sim = Simulation(machines, durations)
    end = sim.run()
    assert set(sim.jobs) == set(items), "calls missing from the emitted schedule"
    for n, ds in deps.items():
        for d in ds:
            assert sim.jobs[d][1] <= sim.jobs[n][0] + 1e-9, f"{n} starts before {d} is done"
    return end
