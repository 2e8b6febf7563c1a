#!/usr/bin/env python3
"""Benchmark: critical-path stretch of the compiled schedule against the ideal DAG.

Not a test. Step Functions expresses concurrency only as chains and Parallel states, so the
compiler nests each workflow's call DAG into a Seq/Par tree
(`wdl2sfn.compiler.schedule.schedule(items, deps)`); where a group has no series cut it becomes
lanes with exact joins (a unit waits for the units of other lanes it needs). With `exact=False`
(the old way, what FSx mode did before its joins) such a group is cut instead, adding waits.
For a corpus of DAG shapes this prints, per shape, side by side for the cut and the exact
schedule: the waits added (cut) or joins made (exact), and the *stretch*: the compiled schedule's
finish time (Seq = sum, Par = max, a lane item starts when its lane and its joins let it) over
the DAG's critical path; 1.0 means the schedule loses nothing. Durations are unit, then random
(uniform 1..10 and log-normal, several seeds; mean and max stretch). It also checks that every
item is scheduled once and every dependency finishes before its dependant starts.

    python bench/critical_path.py [--seeds 20] [--size 40] [--wdl FILE.wdl ...]

`--call-level` measures instead the emitted machines against miniwdl's call-level graph (a call
waits only for the calls it reads, across scatter and `if` boundaries): `call_level.py`.

`--wdl` adds the region DAGs of real workflow files (as the compiler sees them: units = calls,
scatters, ifs; one DAG per region with at least 4 units).

A second table measures the *emitted* state machines: each synthetic shape is written as a WDL
workflow, compiled with `--filesystem efs` and with `--filesystem fsx`, and the ASL itself is
simulated (`asl_schedule.py`: a call's `: run` takes its duration, waits start when the units
they name have passed their releases); `--no-asl` skips it.

Expected: 1.0 on every shape for the exact schedule and for both emitted modes; above 1.0 for
the cut where it adds waits.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from asl_schedule import asl_makespan, compile_dag
from call_level import call_level_table, default_call_level_files, random_table

from wdl2sfn.compiler.schedule import Lanes, Par, Seq, schedule

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
    if isinstance(tree, Lanes):
        return lanes_times(tree, dur, start, out)
    assert tree not in out, f"{tree} scheduled twice"
    out[tree] = (start, start + dur[tree])
    return start + dur[tree]


def lanes_times(tree: Lanes, dur: dict[str, float], start: float, out) -> float:
    """Lanes run side by side; an item starts after its lane predecessor and its joins."""
    position = [0] * len(tree.lanes)
    clock = [start] * len(tree.lanes)
    moved = True
    while moved:
        moved = False
        for k, lane in enumerate(tree.lanes):
            while position[k] < len(lane) and all(w in out for w in lane[position[k]].wait_for):
                item = lane[position[k]]
                assert item.item not in out, f"{item.item} scheduled twice"
                begin = max([clock[k], *(out[w][1] for w in item.wait_for)])
                out[item.item] = (begin, begin + dur[item.item])
                clock[k] = begin + dur[item.item]
                position[k] += 1
                moved = True
    assert position == [len(lane) for lane in tree.lanes], "a join waits forever"
    return max(clock)


def joins_of(tree) -> int:
    if isinstance(tree, Seq):
        return sum(joins_of(s) for s in tree.steps)
    if isinstance(tree, Par):
        return sum(joins_of(b) for b in tree.branches)
    if isinstance(tree, Lanes):
        return sum(1 for lane in tree.lanes for item in lane if item.wait_for)
    return 0


def wdl_shapes(paths: list[str]) -> list[tuple[str, bool, Callable[[], Shape]]]:
    """The region DAGs the compiler schedules for real workflow files (4+ units each)."""
    from wdl2sfn.compiler import compile_workflow, plan

    shapes: list[tuple[str, bool, Callable[[], Shape]]] = []
    for path in paths:
        captured: list[Shape] = []
        original = plan.schedule

        def capture(items, deps, exact=True, captured=captured, original=original):  # type: ignore[no-untyped-def]
            captured.append((list(items), {k: set(v) for k, v in deps.items() if v}))
            return original(items, deps, exact)

        plan.schedule = capture  # type: ignore[assignment]
        try:
            compile_workflow(path)
        finally:
            plan.schedule = original  # type: ignore[assignment]
        name = path.rsplit("/", 1)[-1]
        for k, (items, deps) in enumerate(s for s in captured if len(s[0]) >= 4):
            sp = not schedule(items, deps, exact=False).added_waits
            shapes.append((f"{name} #{k}"[:24], sp, lambda s=(items, deps): s))
    return shapes


def check_and_cp(items, deps, tree, dur) -> float:
    times: dict[str, tuple[float, float]] = {}
    end = tree_times(tree, dur, 0.0, times)
    assert set(times) == set(items), "items missing from the schedule"
    for n, ds in deps.items():
        for d in ds:
            assert times[d][1] <= times[n][0] + 1e-9, f"{n} starts before its dependency {d}"
    return end


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--size", type=int, default=40, help="nodes of the random shapes")
    ap.add_argument("--wdl", nargs="*", default=[], help="also the region DAGs of these files")
    ap.add_argument("--no-asl", action="store_true", help="skip the emitted-ASL table")
    ap.add_argument(
        "--call-level",
        action="store_true",
        help="stretch against miniwdl's call-level graph (--wdl files, else the samples, the "
        "test fixtures and generated scatter/if shapes); see call_level.py",
    )
    ap.add_argument(
        "--random", type=int, default=0, help="with --call-level: also N random workflows"
    )
    return ap.parse_args()


def _shapes(size: int) -> list[tuple[str, bool, Callable[[], Shape]]]:
    """The synthetic shapes: (name, series-parallel?, make)."""
    return [
        ("chain 50", True, lambda: chain(50)),
        ("fork-join 20", True, lambda: fork_join(20)),
        ("parallel chains 5x10", True, lambda: parallel_chains(5, 10)),
        *(
            (
                f"series-parallel #{i}",
                True,
                lambda i=i: series_parallel(random.Random(i), size),
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
                lambda i=i: random_dag(random.Random(100 + i), size, 0.1),
            )
            for i in range(4)
        ),
        *(
            (
                f"random p=0.3 #{i}",
                False,
                lambda i=i: random_dag(random.Random(200 + i), size, 0.3),
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
        ("layered 30x20 fan2", False, lambda: layered_dag(random.Random(600), 30, 20, 2)),
    ]


def main() -> None:
    args = _args()
    if args.call_level:
        call_level_table(args.wdl or default_call_level_files(), args.seeds)
        if args.random:
            random_table(args.random, min(args.seeds, 5))
        return
    synthetic = _shapes(args.size)
    corpus = synthetic + wdl_shapes(args.wdl)
    hdr = (
        f"{'shape':<24} {'SP':>3} {'nodes':>5} {'edges':>5} | {'waits':>5} "
        f"{'U mean':>7} {'max':>6} {'LN mean':>7} {'max':>6} | {'joins':>5} {'ms':>6} "
        f"{'unit':>6} {'U mean':>7} {'max':>6} {'LN mean':>7} {'max':>6}"
    )
    print(f"# {args.seeds} random-duration seeds per shape; left: cut (added waits), right: exact")
    print(hdr)
    print("-" * len(hdr))
    worst = {"cut": 1.0, "exact": 1.0}
    for name, sp, make in corpus:
        _scheduler_row(name, sp, make(), args.seeds, worst)
    print(
        f"# worst stretch over every shape and seed: cut {worst['cut']:.3f}, "
        f"exact {worst['exact']:.3f} (expected 1.000)"
    )
    if not args.no_asl:
        emitted_table(synthetic, args.seeds)


def _scheduler_row(name: str, sp: bool, shape: Shape, seeds: int, worst: dict[str, float]) -> None:
    """One shape scheduled both ways (cut, exact), its stretches printed; worst updated."""
    items, deps = shape
    cells = []
    for mode in ("cut", "exact"):
        t0 = time.perf_counter()
        sched = schedule(items, deps, exact=(mode == "exact"))
        ms = 1000 * (time.perf_counter() - t0)
        unit = {n: 1.0 for n in items}
        stretch = check_and_cp(items, deps, sched.tree, unit) / dag_cp(items, deps, unit)
        unif, logn = [], []
        for s in range(seeds):
            r = random.Random(1000 * s + 17)
            d1 = {n: r.uniform(1, 10) for n in items}
            d2 = {n: r.lognormvariate(0, 1) for n in items}
            unif.append(check_and_cp(items, deps, sched.tree, d1) / dag_cp(items, deps, d1))
            logn.append(check_and_cp(items, deps, sched.tree, d2) / dag_cp(items, deps, d2))
        worst[mode] = max(worst[mode], stretch, *unif, *logn)
        count = len(sched.added_waits) if mode == "cut" else joins_of(sched.tree)
        cells.append((count, ms, stretch, unif, logn))
    (waits, _, _, cu, cl), (joins, ms, stretch, eu, el) = cells
    edges = sum(len(v) for v in deps.values())
    print(
        f"{name:<24} {'y' if sp else 'n':>3} {len(items):>5} {edges:>5} | {waits:>5} "
        f"{statistics.mean(cu):>7.3f} {max(cu):>6.3f} {statistics.mean(cl):>7.3f} "
        f"{max(cl):>6.3f} | {joins:>5} {ms:>6.1f} {stretch:>6.3f} "
        f"{statistics.mean(eu):>7.3f} {max(eu):>6.3f} {statistics.mean(el):>7.3f} {max(el):>6.3f}"
    )


def emitted_table(corpus: list[tuple[str, bool, Callable[[], Shape]]], seeds: int) -> None:
    """Stretch of the compiled state machines themselves, EFS and FSx, on the same durations."""
    hdr = (
        f"{'shape':<24} {'nodes':>5} | {'EFS U mean':>10} {'max':>6} {'LN mean':>7} {'max':>6} | "
        f"{'FSx U mean':>10} {'max':>6} {'LN mean':>7} {'max':>6}"
    )
    print(f"\n# emitted ASL simulated (WDL -> compile -> ASL), {seeds} seeds per shape")
    print(hdr)
    print("-" * len(hdr))
    worst = {"efs": 1.0, "fsx": 1.0}
    for name, _, make in corpus:
        items, deps = make()
        cells = []
        for mode in ("efs", "fsx"):
            definition = compile_dag(items, deps, mode)
            unif, logn = [], []
            for s in range(seeds):
                r = random.Random(1000 * s + 17)
                for out, dur in ((unif, {n: r.uniform(1, 10) for n in items}),
                                 (logn, {n: r.lognormvariate(0, 1) for n in items})):  # fmt: skip
                    out.append(
                        asl_makespan(definition, items, deps, dur) / dag_cp(items, deps, dur)
                    )
            worst[mode] = max(worst[mode], *unif, *logn)
            cells.append(
                f"{statistics.mean(unif):>10.3f} {max(unif):>6.3f} "
                f"{statistics.mean(logn):>7.3f} {max(logn):>6.3f}"
            )
        print(f"{name:<24} {len(items):>5} | {cells[0]} | {cells[1]}")
    print(
        f"# worst stretch of the emitted machines: EFS {worst['efs']:.3f}, "
        f"FSx {worst['fsx']:.3f} (expected 1.000)"
    )


if __name__ == "__main__":
    main()
