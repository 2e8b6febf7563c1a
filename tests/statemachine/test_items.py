"""A Distributed Map's items are read lazily and batched exactly as ItemBatcher groups them."""

from __future__ import annotations

import json

import pytest

from wdl2sfn.statemachine.items import ChildInputs, JsonArrayItems, NotAnArrayError
from wdl2sfn.statemachine.quotas import payload_size, to_json

SAMPLE = [{"shard": [0]}, "a,]b", [1, [2, {"x": "]"}]], None, 3.5, {"k": "\u00e9"}]


@pytest.mark.parametrize(
    "text",
    [json.dumps(SAMPLE), json.dumps(SAMPLE, indent=2), " \n[ ]\n", "[1]", json.dumps(SAMPLE)],
)
def test_json_array_items_equal_the_parsed_array(text: str) -> None:
    items = JsonArrayItems(text)
    assert list(items) == json.loads(text)
    assert len(items) == len(json.loads(text))


def test_json_array_items_parse_an_item_only_when_asked() -> None:
    items = JsonArrayItems(json.dumps(SAMPLE))
    first, second = items[0], items[0]
    assert first == second and first is not second


def test_json_array_items_truncate_to_max_items() -> None:
    items = JsonArrayItems(json.dumps(SAMPLE))
    items.truncate(2)
    assert list(items) == SAMPLE[:2]


@pytest.mark.parametrize("text", ["[1, 2", "[1 2]", "[1,]", "[1] x", "{", ""])
def test_invalid_json_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        JsonArrayItems(text)


def test_json_that_is_not_an_array_raises_not_an_array() -> None:
    with pytest.raises(NotAnArrayError):
        JsonArrayItems('{"Items": []}')


def _old_batches(items: list, base: dict, max_items: int | None, max_bytes: int | None) -> list:
    """The eager batching the executor did before items were read lazily."""
    base_size = payload_size(to_json(base))
    batches: list[list] = []
    current: list = []
    size = base_size
    for item in items:
        item_size = payload_size(to_json(item))
        grown = size + item_size + (1 if current else 0)
        if current and (
            (max_items and len(current) >= max_items) or (max_bytes and grown > max_bytes)
        ):
            batches.append(current)
            current, grown = [], base_size + item_size
        current.append(item)
        size = grown
    if current:
        batches.append(current)
    return [{**base, "Items": b} for b in batches]


@pytest.mark.parametrize(
    ("max_items", "max_bytes"), [(3, None), (None, 60), (4, 50), (1, None), (None, 1)]
)
def test_child_inputs_group_items_as_the_item_batcher(max_items, max_bytes) -> None:
    items = [{"i": i, "pad": "x" * (i % 7)} for i in range(23)]
    base = {"Items": [], "BatchInput": {"b": 1}}
    inputs = ChildInputs(items, lambda i, item: {**item, "at": i})
    inputs.batch(base, max_items, max_bytes)
    selected = [{**item, "at": i} for i, item in enumerate(items)]
    assert list(inputs) == _old_batches(selected, base, max_items, max_bytes)


def test_child_inputs_without_a_batcher_are_the_selected_items() -> None:
    inputs = ChildInputs(["a", "b"], lambda i, item: [i, item])
    assert list(inputs) == [[0, "a"], [1, "b"]]


def test_the_item_selector_runs_on_every_item_before_any_child_starts() -> None:
    seen: list[int] = []
    ChildInputs([10, 20, 30], lambda i, item: seen.append(i))
    assert seen == [0, 1, 2]
