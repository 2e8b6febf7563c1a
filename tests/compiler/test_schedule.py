"""The scheduler nests a DAG into Seq/Par/Lanes without losing concurrency on any DAG."""

import random

from wdl2sfn.compiler.schedule import Lanes, Par, Seq, schedule


def test_a_chain_becomes_one_sequence():
    result = schedule(["a", "b", "c"], {"b": {"a"}, "c": {"b"}})
    assert result.tree == Seq(["a", "b", "c"])
    assert result.added_waits == []


def test_independent_items_run_in_parallel():
    result = schedule(["a", "b", "c"], {})
    assert result.tree == Par(["a", "b", "c"])


def test_fork_join_is_sequence_of_parallel():
    deps = {"b": {"a"}, "c": {"a"}, "d": {"b", "c"}}
    result = schedule(["a", "b", "c", "d"], deps)
    assert result.tree == Seq(["a", Par(["b", "c"]), "d"])
    assert result.added_waits == []


def test_two_independent_chains_stay_separate_branches():
    deps = {"b": {"a"}, "d": {"c"}}
    result = schedule(["a", "b", "c", "d"], deps)
    assert result.tree == Par([Seq(["a", "b"]), Seq(["c", "d"])])


def test_n_shape_without_exact_joins_adds_exactly_one_reported_wait():
    # a->c, b->c, b->d: not series-parallel; d must not wait for a unless we add that wait
    deps = {"c": {"a", "b"}, "d": {"b"}}
    result = schedule(["a", "b", "c", "d"], deps, exact=False)
    assert len(result.added_waits) == 1
    assert result.added_waits[0] == ("a", "d")


def test_n_shape_becomes_two_lanes_with_one_join_and_no_added_wait():
    deps = {"c": {"a", "b"}, "d": {"b"}}
    result = schedule(["a", "b", "c", "d"], deps)
    assert result.added_waits == []
    assert isinstance(result.tree, Lanes)
    joins = [(it.item, it.wait_for) for lane in result.tree.lanes for it in lane if it.wait_for]
    assert joins == [("c", ["b"])]


def test_every_dag_is_scheduled_exactly_with_any_durations():
    for seed in range(40):
        rng = random.Random(seed)
        n = rng.randint(4, 30)
        items = [f"n{i}" for i in range(n)]
        deps = {items[j]: {items[i] for i in range(j) if rng.random() < 0.2} for j in range(n)}
        tree = schedule(items, deps).tree
        durations = {item: rng.lognormvariate(0, 1) for item in items}
        times: dict = {}
        end = _simulate(tree, durations, 0.0, times)
        ideal: dict = {}
        for item in items:
            ideal[item] = durations[item] + max((ideal[d] for d in deps[item]), default=0.0)
        assert set(times) == set(items)
        for item, ds in deps.items():
            assert all(times[d][1] <= times[item][0] + 1e-9 for d in ds), (seed, item)
        assert abs(end - max(ideal.values())) < 1e-9, seed


def test_every_dependency_is_honoured_in_a_non_series_parallel_dag():
    deps = {"c": {"a", "b"}, "d": {"b"}, "e": {"c", "d"}, "f": {"a"}}
    items = ["a", "b", "c", "d", "e", "f"]
    result = schedule(items, deps)
    times: dict = {}
    _simulate(result.tree, dict.fromkeys(items, 1.0), 0.0, times)
    for item, ds in deps.items():
        for d in ds:
            assert times[d][1] <= times[item][0], (d, item)


def test_empty_schedule_has_no_tree():
    assert schedule([], {}).tree is None


def _simulate(tree, dur, start, out):
    """(start, finish) of every item when each starts as soon as its structure lets it."""
    if isinstance(tree, Seq):
        t = start
        for s in tree.steps:
            t = _simulate(s, dur, t, out)
        return t
    if isinstance(tree, Par):
        return max(_simulate(b, dur, start, out) for b in tree.branches)
    if isinstance(tree, Lanes):
        return _simulate_lanes(tree, dur, start, out)
    out[tree] = (start, start + dur[tree])
    return start + dur[tree]


def _simulate_lanes(tree, dur, start, out):
    position = [0] * len(tree.lanes)
    clock = [start] * len(tree.lanes)
    moved = True
    while moved:
        moved = False
        for k, lane in enumerate(tree.lanes):
            while position[k] < len(lane) and all(w in out for w in lane[position[k]].wait_for):
                item = lane[position[k]]
                begin = max([clock[k], *(out[w][1] for w in item.wait_for)])
                out[item.item] = (begin, begin + dur[item.item])
                clock[k] = begin + dur[item.item]
                position[k] += 1
                moved = True
    assert position == [len(lane) for lane in tree.lanes], "a join waits forever"
    return max(clock)
