"""Call-level stretch: the emitted ASL against miniwdl's call-level dependency graph.

Used by `critical_path.py --call-level`. The region DAGs the scheduler sees treat a scatter or an
`if` as one unit; miniwdl's own runner does not: a call (or declaration, or output) waits only for
the nodes whose values it reads, across section boundaries (a gather waits for its referee's
shards, a section's body for its expression). This module builds that graph from the workflow
index (miniwdl's `workflow_node_dependencies`, the compiler's `_dependency_edges`), gives every
task call a random duration (every shard of a call the same, unlimited concurrency: the ideal
is the graph's critical path), simulates the compiled EFS machine (`asl_schedule.Simulation`,
descending into Map states and taking every `if`), and reports per file:

* stretch: the simulated run's length over the critical path (1.000: nothing lost);
* late: calls that start after their earliest possible start (they wait for a call they do not
  read), summed over seeds.

It also checks that every call ran after every call it reads.
"""

from __future__ import annotations

import math
import random
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from asl_schedule import Simulation

from wdl2sfn import wdl
from wdl2sfn.compiler import compile_workflow
from wdl2sfn.compiler.plan import _dependency_edges
from wdl2sfn.workflow_index import WorkflowIndex

Graph = dict[str, set[str]]  # call ref -> call refs it reads (through lazy nodes)


def call_graph(path: str) -> Graph:
    """Each task call's upstream task calls in miniwdl's node graph (subworkflows inlined)."""
    index = WorkflowIndex(wdl.load(path).workflow)
    preds: Graph = defaultdict(set)
    for src, dsts in _dependency_edges(index).items():
        for dst in dsts:
            preds[dst].add(src)
    calls = {info.ref for info in index if info.is_task_call}
    memo: dict[str, set[str]] = {}

    def upstream(ref: str) -> set[str]:
        todo = [ref]
        while todo:
            top = todo[-1]
            missing = [p for p in preds.get(top, ()) if p not in memo and p not in calls]
            if missing:
                todo.extend(missing)
                continue
            found: set[str] = set()
            for p in preds.get(top, ()):
                found |= {p} if p in calls else memo[p]
            memo[top] = found
            todo.pop()
        return memo[ref]

    return {c: set(upstream(c)) for c in calls}


def ideal_times(graph: Graph, dur: dict[str, float]) -> dict[str, float]:
    """Earliest start of every call when each starts as soon as the calls it reads are done."""
    start: dict[str, float] = {}

    def finish(c: str) -> float:
        if c not in start:
            start[c] = max((finish(d) for d in graph[c]), default=0.0)
        return start[c] + dur[c]

    for c in graph:
        finish(c)
    return start


class CallSimulation(Simulation):
    """The EFS machine with Map bodies run (all shards alike) and every `if` taken."""

    def graph(self, graph: dict[str, Any], t: float) -> float:
        name: str | None = graph["StartAt"]
        while name is not None:
            state = graph["States"][name]
            t = self.state(name, state, t)
            if name.endswith(": taken?"):
                name = state["Choices"][0]["Next"]
            else:
                name = state.get("Next") or state.get("Default")
        return t

    def state(self, name: str, state: dict[str, Any], t: float) -> float:
        if state["Type"] == "Map":
            return max(t, self.graph(state["ItemProcessor"], t))
        return super().state(name, state, t)

    def call_key(self, name: str, call_input: dict[str, Any]) -> str:
        """A call by its node reference (the call machine's input names it), as miniwdl's
        call graph does."""
        return str(call_input["node"])


def file_row(path: str, seeds: int) -> tuple[int, list[float], int]:
    """(calls, stretch per seed, late calls over every seed) for one workflow file."""
    graph = call_graph(path)
    compiled = compile_workflow(path)
    machines = {"": compiled.definition}
    machines |= {n: c.definition for n, c in compiled.all_machines().items()}
    stretches, late = [], 0
    for s in range(seeds):
        rng = random.Random(1000 * s + 17)
        dur = {c: rng.uniform(1, 10) for c in sorted(graph)}
        ideal = ideal_times(graph, dur)
        sim = CallSimulation(machines, dur)
        end = sim.run()
        assert set(sim.jobs) == set(graph), f"{path}: calls missing from the simulated run"
        for c, ds in graph.items():
            for d in ds:
                assert sim.jobs[d][1] <= sim.jobs[c][0] + 1e-9, f"{path}: {c} before {d}"
        late += sum(1 for c in graph if sim.jobs[c][0] > ideal[c] + 1e-9)
        cp = max(ideal[c] + dur[c] for c in graph) if graph else 1.0
        stretches.append(end / cp if math.isfinite(end) else math.inf)
    return len(graph), stretches, late


TASKS = """
task t {
  input { Array[Int] x = [] Int i = 0 }
  command <<< echo 1 >>>
  output { Int y = 1 }
}
"""

#: generated shapes: scatter / if bodies with independent and dependent calls
SHAPES = {
    "scatter A|B, C<-A": """
  scatter (i in [1, 2, 3]) {
    call t as A { input: i = i }
    call t as B { input: i = i }
  }
  call t as C { input: x = A.y }
  call t as D { input: x = B.y }""",
    "if A|B, C<-A": """
  if (true) {
    call t as A
    call t as B
  }
  call t as C { input: x = select_all([A.y]) }""",
    "scatter A->B, C<-A": """
  scatter (i in [1, 2]) {
    call t as A { input: i = i }
    call t as B { input: x = [A.y] }
  }
  call t as C { input: x = A.y }""",
    "nested scatter A|B, C<-A": """
  scatter (i in [1, 2]) {
    scatter (j in [1, 2]) {
      call t as A { input: i = j }
      call t as B { input: i = i }
    }
  }
  call t as C { input: x = flatten(A.y) }""",
    "scatter decl <- X": """
  call t as X
  scatter (i in [1, 2]) {
    Int d = X.y + i
    call t as A { input: i = i }
  }
  call t as C { input: x = d }""",
    "scatter A|B|D, E<-C,B": """
  scatter (i in [1, 2]) {
    call t as A { input: i = i }
    call t as B { input: i = i }
    call t as D { input: x = [B.y] }
  }
  call t as C { input: x = A.y }
  call t as E { input: x = B.y, i = C.y }""",
    "scatter A<-X|B, C<-A,B": """
  call t as X
  scatter (i in [1, 2]) {
    call t as A { input: i = X.y }
    call t as B { input: i = i }
    call t as C { input: x = [A.y, B.y] }
  }""",
    "if A, B<-A, C<-A,X": """
  call t as X
  if (true) {
    call t as A
    call t as B { input: x = [A.y] }
    call t as C { input: x = [A.y, X.y] }
  }""",
    "if in scatter A|B, C<-A": """
  scatter (i in [1, 2]) {
    if (i > 0) {
      call t as A { input: i = i }
      call t as B { input: i = i }
    }
  }
  call t as C { input: x = select_all(A.y) }""",
}


def shape_files(tmp: str) -> list[str]:
    paths = []
    for k, (name, body) in enumerate(SHAPES.items()):
        path = Path(tmp) / f"genshape{k}.wdl"
        path.write_text(f"version 1.1\n# {name}\nworkflow w {{{body}\n}}\n{TASKS}")
        paths.append(str(path))
    return paths


def call_level_table(paths: list[str], seeds: int) -> None:
    """The per-file table: calls, mean and max stretch, late calls (over every seed)."""
    hdr = f"{'file':<32} {'calls':>5} {'mean':>7} {'max':>7} {'late':>5}"
    print(f"# call-level stretch of the emitted EFS machine, {seeds} seeds, uniform 1..10")
    print(hdr)
    print("-" * len(hdr))
    worst = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in [*paths, *shape_files(tmp)]:
            name = _shown(path)
            calls, stretches, late = file_row(path, seeds)
            if not calls:
                continue
            worst = max(worst, *stretches)
            print(
                f"{name:<32} {calls:>5} {statistics.mean(stretches):>7.3f} "
                f"{max(stretches):>7.3f} {late:>5}"
            )
    print(f"# worst call-level stretch: {worst:.3f} (goal 1.000)")


def _shown(path: str) -> str:
    if "/genshape" in path and path.endswith(".wdl"):
        first = Path(path).read_text().splitlines()[1]
        return "shape: " + first.lstrip("# ")
    return path.rsplit("/", 1)[-1][:32]


def default_call_level_files() -> list[str]:
    """The samples and the test fixtures that miniwdl accepts (a few are meant to fail)."""
    root = Path(__file__).resolve().parent.parent
    found = []
    for path in sorted([*root.glob("sample_wdl/*/*.wdl"), *root.glob("tests/fixtures/**/*.wdl")]):
        try:
            doc = wdl.load(str(path))
        except Exception:  # noqa: BLE001 - fixtures of bad input
            continue
        if doc.workflow is not None:
            found.append(str(path))
    return found


def random_workflow(rng: random.Random, calls: int) -> str:
    """A random workflow of nested scatters and ifs: each call reads up to two random values in
    sight (call outputs, declarations, gathered arrays), so bodies hold independent and
    dependent calls, calls reading outside calls, and declarations."""
    count = [0]

    def fresh(prefix: str) -> str:
        count[0] += 1
        return f"{prefix}{count[0]}"

    def block(
        depth: int, seen: list[tuple[str, str]], budget: list[int]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        lines: list[str] = []
        local: list[tuple[str, str]] = []  # (expression, "int" | "arr")
        pad = "  " * (depth + 1)
        while budget[0] > 0:
            pool = local + seen
            roll = rng.random()
            if roll < 0.15 and depth < 3:
                var = fresh("v")
                if rng.random() < 0.6:
                    arrs = [e for e, t in pool if t == "arr"][:2]
                    src = rng.choice(
                        [f"range({rng.randint(1, 3)})", *(f"range(length({a}))" for a in arrs)]
                    )
                    lines.append(f"{pad}scatter ({var} in {src}) {{")
                    inner, out = block(depth + 1, [*pool, (var, "int")], budget)
                    local += [(e, "arr") for e, t in out if t == "int"]
                else:
                    lines.append(f"{pad}if (true) {{")
                    inner, out = block(depth + 1, pool, budget)
                    local += [(f"select_all([{e}])", "arr") for e, t in out if t == "int"]
                lines += [*inner, f"{pad}}}"]
                if rng.random() < 0.5:
                    break
            elif roll < 0.25:
                ints = [e for e, t in pool if t == "int"]
                name = fresh("d")
                lines.append(f"{pad}Int {name} = {rng.choice(ints) + ' + 1' if ints else '1'}")
                local.append((name, "int"))
            else:
                budget[0] -= 1
                name = fresh("c")
                arrs = [e for e, t in pool if t == "arr"]
                ints = [e for e, t in pool if t == "int"]
                x = "".join(f", {a}" for a in rng.sample(arrs, min(len(arrs), rng.randint(0, 2))))
                i = " + ".join(rng.sample(ints, min(len(ints), rng.randint(0, 2)))) or "0"
                lines.append(f"{pad}call t as {name} {{ input: x = flatten([[]{x}]), i = {i} }}")
                local.append((f"{name}.y", "int"))
        return lines, local

    body, _ = block(0, [], [calls])
    return "version 1.1\n# random\nworkflow w {\n" + "\n".join(body) + "\n}\n" + TASKS


def random_table(count: int, seeds: int) -> None:
    """Stretch over `count` random workflows (4..14 calls): worst, and how many exceed 1.000."""
    worst, above = 1.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(count):
            rng = random.Random(k)
            path = Path(tmp) / f"random{k}.wdl"
            path.write_text(random_workflow(rng, rng.randint(4, 14)))
            _, stretches, _ = file_row(str(path), seeds)
            worst = max(worst, *stretches)
            above += max(stretches) > 1.0 + 1e-9
    print(f"# {count} random nested scatter/if workflows: worst {worst:.3f}, {above} above 1.000")
