"""What a run's values cost in memory does not grow with its shards."""

from __future__ import annotations

from WDL import Type

from wdl2sfn.task_runner.workflow_eval import ScatterItems, _Memo


def test_values_outside_scatters_are_all_kept() -> None:
    memo: _Memo[int] = _Memo(keep=2)
    for i in range(10):
        memo.put(f"decl-{i}", (), i)
    assert [memo.get(f"decl-{i}", ()) for i in range(10)] == list(range(10))


def test_only_the_most_recently_used_shard_values_are_kept() -> None:
    memo: _Memo[str] = _Memo(keep=2)
    memo.put("call-t", (0,), "a")
    memo.put("call-t", (1,), "b")
    assert memo.get("call-t", (0,)) == "a"  # used: now the most recent
    memo.put("call-t", (2,), "c")
    assert memo.get("call-t", (1,)) is None
    assert (memo.get("call-t", (0,)), memo.get("call-t", (2,))) == ("a", "c")


def test_scatter_items_make_each_item_from_its_json() -> None:
    items = ScatterItems(Type.Pair(Type.Int(), Type.String()), [{"left": 1, "right": "x"}])
    assert len(items) == 1
    assert items.at(0).json == {"left": 1, "right": "x"}
