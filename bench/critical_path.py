#!/usr/bin/env python3
"""Benchmark: critical-path stretch of the compiled Seq/Par schedule against the ideal DAG.

Not a test. Step Functions expresses concurrency only as chains and Parallel states, so the
compiler nests each workflow's call DAG into a Seq/Par tree
(`wdl2sfn.compiler.schedule.schedule(items, deps)`); a non-series-parallel DAG gets extra waits.
For a corpus of DAG shapes this prints, per shape, the critical path of the DAG (longest path, node
durations) and of the compiled tree (Seq = sum, Par = max: what the state machine takes when every
call runs as soon as its branch reaches it), and their ratio, the *stretch*: 1.0 means the
schedule loses nothing. Durations are unit, then random (uniform 1..10 and log-normal, several
seeds; mean and max stretch). It also checks that every item is in the tree once and that every
dependency finishes before its dependant starts.

    python bench/critical_path.py [--seeds 20] [--size 40]

Expected: 1.0 on every series-parallel shape (chains, fork-join, nested series-parallel, scatter-
like fans); above 1.0 only where the compiler reports added waits.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from wdl2sfn.compiler.schedule import Par, Seq, schedule

Deps = dict[str, set[str]]
Shape = tuple[list[str], Deps]


# ------------------------------------------------------------------ corpus


def chain(n: int) -> Shape:
    items = [f"c{i}" for i in range(n)]
    return items, {items[i]: {items[i - 1]} for i in range(1, n)}


def fork_join(k: int) -> Shape:
    items = ["src", *(f"b{i}" for i in range(k)), "sink"]
    deps: Deps = {f"b{i}": {"src"} for i in range(k)}
    deps["sink"] = {f"b{i}" for i in range(k)}
    return items, deps


def parallel_chains(k: int, length: int) -> Shape:
    items, deps = [], {}
    for b in range(k):
        for i in range(length):
            items.append(f"p{b}_{i}")
            if i:
                deps[f"p{b}_{i}"] = {f"p{b}_{i - 1}"}
    return items, deps


def series_parallel(rng: random.Random, size: int) -> Shape:
    """A random series-parallel DAG: recursive series/parallel composition of two-terminal parts.

    Each part is (nodes, sources, sinks, edges); series links every sink of the first to every
    source of the second (a complete bipartite join is still series-parallel as a poset).
    """
    counter = [0]

    def leaf() -> tuple[list[str], set[str], set[str], set[tuple[str, str]]]:
        counter[0] += 1
        n = f"n{counter[0]}"
        return [n], {n}, {n}, set()

    def build(k: int):
        if k <= 1:
            return leaf()
        left = rng.randint(1, k - 1)
        a, b = build(left), build(k - left)
        if rng.random() < 0.5:  # series
            edges = a[3] | b[3] | {(s, t) for s in a[2] for t in b[1]}
            return a[0] + b[0], a[1], b[2], edges
        return a[0] + b[0], a[1] | b[1], a[2] | b[2], a[3] | b[3]

    nodes, _, _, edges = build(size)
    deps: Deps = {}
    for s, t in edges:
        deps.setdefault(t, set()).add(s)
    return topo(nodes, deps), deps


def n_shape() -> Shape:
    return ["a", "b", "c", "d"], {"c": {"a", "b"}, "d": {"b"}}


def n_chain(k: int) -> Shape:
    """k N shapes glued: a zig-zag a0->c0, b0->c0, b0->d0, then each d feeds the next a and b."""
    items: list[str] = []
    deps: Deps = {}
    prev = None
    for i in range(k):
        a, b, c, d = (f"{x}{i}" for x in "abcd")
        items += [a, b, c, d]
        if prev:
            deps[a] = {prev}
            deps[b] = {prev}
        deps[c] = {a, b}
        deps[d] = {b}
        prev = d
    # d of the last N and c's are sinks; fine
    return items, deps


def w_shape() -> Shape:
    return ["a", "b", "c", "x", "y", "z", "w"], {
        "x": {"a", "b"},
        "y": {"b", "c"},
        "z": {"a"},
        "w": {"c"},
    }


def grid(w: int, h: int) -> Shape:
    """A w x h lattice: (i, j) depends on (i-1, j) and (i, j-1) (not series-parallel)."""
    items, deps = [], {}
    for i in range(h):
        for j in range(w):
            n = f"g{i}_{j}"
            items.append(n)
            ds = set()
            if i:
                ds.add(f"g{i - 1}_{j}")
            if j:
                ds.add(f"g{i}_{j - 1}")
            if ds:
                deps[n] = ds
    return items, deps


def random_dag(rng: random.Random, n: int, p: float) -> Shape:
    items = [f"r{i}" for i in range(n)]
    deps: Deps = {}
    for j in range(n):
        for i in range(j):
            if rng.random() < p:
                deps.setdefault(items[j], set()).add(items[i])
    return items, deps


def layered_dag(rng: random.Random, layers: int, width: int, fan_in: int) -> Shape:
    """Layers of `width` nodes, each depending on up to `fan_in` random nodes of the layer above."""
    items, deps = [], {}
    for lv in range(layers):
        for k in range(width):
            n = f"l{lv}_{k}"
            items.append(n)
            if lv:
                deps[n] = {f"l{lv - 1}_{rng.randrange(width)}" for _ in range(fan_in)}
    return items, deps


def topo(nodes: list[str], deps: Deps) -> list[str]:
    order, seen = [], set()

    def visit(n: str) -> None:
        if n in seen:
            return
        seen.add(n)
        for d in sorted(deps.get(n, ())):
            visit(d)
        order.append(n)

    for n in nodes:
        visit(n)
    return order


# ------------------------------------------------------------------ critical paths


def dag_cp(items: list[str], deps: Deps, dur: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for n in items:
        finish[n] = dur[n] + max((finish[d] for d in deps.get(n, ())), default=0.0)
    return max(finish.values())


def tree_times(tree, dur: dict[str, float], start: float, out: dict[str, tuple[float, float]]):
    """Finish time of `tree` started at `start`; records each leaf's (start, finish)."""
    if isinstance(tree, Seq):
        t = start
        for step in tree.steps:
            t = tree_times(step, dur, t, out)
        return t
    if isinstance(tree, Par):
        return max(tree_times(b, dur, start, out) for b in tree.branches)
    assert tree not in out, f"{tree} scheduled twice"
    out[tree] = (start, start + dur[tree])
    return start + dur[tree]


def check_and_cp(items, deps, tree, dur) -> float:
    times: dict[str, tuple[float, float]] = {}
    end = tree_times(tree, dur, 0.0, times)
    assert set(times) == set(items), "items missing from the schedule"
    for n, ds in deps.items():
        for d in ds:
            assert times[d][1] <= times[n][0] + 1e-9, f"{n} starts before its dependency {d}"
    return end


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--size", type=int, default=40, help="nodes of the random shapes")
    args = ap.parse_args()

    corpus: list[tuple[str, bool, Callable[[], Shape]]] = [
        ("chain 50", True, lambda: chain(50)),
        ("fork-join 20", True, lambda: fork_join(20)),
        ("parallel chains 5x10", True, lambda: parallel_chains(5, 10)),
        *(
            (
                f"series-parallel #{i}",
                True,
                lambda i=i: series_parallel(random.Random(i), args.size),
            )
            for i in range(5)
        ),
        ("N (a->c, b->c, b->d)", False, n_shape),
        ("N x 10 zig-zag", False, lambda: n_chain(10)),
        ("W", False, w_shape),
        ("grid 4x4", False, lambda: grid(4, 4)),
        ("grid 8x8", False, lambda: grid(8, 8)),
        *(
            (
                f"random p=0.1 #{i}",
                False,
                lambda i=i: random_dag(random.Random(100 + i), args.size, 0.1),
            )
            for i in range(4)
        ),
        *(
            (
                f"random p=0.3 #{i}",
                False,
                lambda i=i: random_dag(random.Random(200 + i), args.size, 0.3),
            )
            for i in range(2)
        ),
        *(
            (
                f"layered 6x6 fan2 #{i}",
                False,
                lambda i=i: layered_dag(random.Random(300 + i), 6, 6, 2),
            )
            for i in range(3)
        ),
    ]

    hdr = (
        f"{'shape':<24} {'SP':>3} {'nodes':>5} {'edges':>5} {'waits':>5} {'ms':>6} "
        f"{'unit DAG':>8} {'unit tree':>9} {'stretch':>7} "
        f"{'U(1,10) mean':>12} {'max':>6} {'lognorm mean':>12} {'max':>6}"
    )
    print(f"# {args.seeds} random-duration seeds per shape")
    print(hdr)
    print("-" * len(hdr))
    sp_worst = 1.0
    for name, sp, make in corpus:
        items, deps = make()
        t0 = time.perf_counter()
        sched = schedule(items, deps)
        ms = 1000 * (time.perf_counter() - t0)
        unit = {n: 1.0 for n in items}
        u_dag, u_tree = dag_cp(items, deps, unit), check_and_cp(items, deps, sched.tree, unit)
        unif, logn = [], []
        for s in range(args.seeds):
            r = random.Random(1000 * s + 17)
            d1 = {n: r.uniform(1, 10) for n in items}
            d2 = {n: r.lognormvariate(0, 1) for n in items}
            unif.append(check_and_cp(items, deps, sched.tree, d1) / dag_cp(items, deps, d1))
            logn.append(check_and_cp(items, deps, sched.tree, d2) / dag_cp(items, deps, d2))
        edges = sum(len(v) for v in deps.values())
        stretch = u_tree / u_dag
        if sp:
            sp_worst = max(sp_worst, stretch, *unif, *logn)
        print(
            f"{name:<24} {'y' if sp else 'n':>3} {len(items):>5} {edges:>5} "
            f"{len(sched.added_waits):>5} {ms:>6.1f} {u_dag:>8.0f} {u_tree:>9.0f} {stretch:>7.3f} "
            f"{statistics.mean(unif):>12.3f} {max(unif):>6.3f} "
            f"{statistics.mean(logn):>12.3f} {max(logn):>6.3f}"
        )
    print(f"# worst stretch on series-parallel shapes: {sp_worst:.3f} (expected 1.000)")


if __name__ == "__main__":
    main()
