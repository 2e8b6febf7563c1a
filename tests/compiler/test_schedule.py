"""The scheduler nests a DAG into Seq/Par without losing concurrency on series-parallel DAGs."""

from wdl2sfn.compiler.schedule import Par, Seq, schedule


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


def test_n_shape_adds_exactly_one_reported_wait():
    # a->c, b->c, b->d: not series-parallel; d must not wait for a unless we add that wait
    deps = {"c": {"a", "b"}, "d": {"b"}}
    result = schedule(["a", "b", "c", "d"], deps)
    assert len(result.added_waits) == 1
    assert result.added_waits[0] == ("a", "d")


def test_every_dependency_is_honoured_in_a_non_series_parallel_dag():
    deps = {"c": {"a", "b"}, "d": {"b"}, "e": {"c", "d"}, "f": {"a"}}
    items = ["a", "b", "c", "d", "e", "f"]
    result = schedule(items, deps)
    order = _earliest_starts(result.tree)
    for item, ds in deps.items():
        for d in ds:
            assert order[d] < order[item], (d, item)


def test_empty_schedule_has_no_tree():
    assert schedule([], {}).tree is None


def _earliest_starts(tree, start=0, out=None):
    """Unit-time simulation: each leaf takes 1; returns finish time of every leaf."""
    out = {} if out is None else out
    _finish(tree, start, out)
    return out


def _finish(tree, start, out):
    if isinstance(tree, Seq):
        t = start
        for s in tree.steps:
            t = _finish(s, t, out)
        return t
    if isinstance(tree, Par):
        return max(_finish(b, start, out) for b in tree.branches)
    out[tree] = start + 1
    return start + 1
