"""A Distributed Map's items and child inputs, held so that memory does not grow with them.

A 100,000-shard scatter reads 100,000 items; as Python objects (a dict, a list, the selected
copy with ``ItemSelector``) they cost about 500 bytes each, and the batches built from them
lived until the Map Run ended. Here:

* items read by the ItemReader stay as the JSON text of the object, with each item's offsets
  (``JsonArrayItems``: 16 bytes an item); an item is parsed when its child starts;
* ``ChildInputs`` runs the ItemSelector on every item before the Map starts (so its errors
  surface where they did) keeping only each selected item's size, computes the batches'
  boundaries from the sizes, and builds a child's input (``{"Items": [...], "BatchInput": ...}``, or the selected item
  without an ItemBatcher) only when that child starts.

The inputs are exactly those AWS's ItemBatcher gives: same grouping, same order.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Sequence
from typing import Any

from .quotas import payload_size, to_json

_WHITESPACE = " \t\n\r"


class NotAnArrayError(ValueError):
    """The object holds valid JSON that is not an array."""


class JsonArrayItems(Sequence[Any]):
    """The items of a JSON array text, each parsed when asked for."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = array("q")
        self.ends = array("q")
        self._scan()

    def truncate(self, limit: int) -> None:
        """Keep the first ``limit`` items (ReaderConfig.MaxItems)."""
        del self.starts[limit:]
        del self.ends[limit:]

    def _scan(self) -> None:
        """Record each item's offsets (raises ValueError on invalid JSON, NotAnArrayError on a
        JSON value that is not an array)."""
        text, decoder = self.text, json.JSONDecoder()
        pos = _skip(text, 0)
        if not text.startswith("[", pos):
            json.loads(text)  # invalid JSON raises its own error here
            raise NotAnArrayError("not a JSON array")
        pos = _skip(text, pos + 1)
        if text.startswith("]", pos):
            _expect_end(text, pos + 1)
            return
        while True:
            _, end = decoder.raw_decode(text, pos)
            self.starts.append(pos)
            self.ends.append(end)
            pos = _skip(text, end)
            if text.startswith("]", pos):
                _expect_end(text, pos + 1)
                return
            if not text.startswith(",", pos):
                raise ValueError(f"Expecting ',' delimiter: char {pos}")
            pos = _skip(text, pos + 1)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return json.loads(self.text[self.starts[index] : self.ends[index]])


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _expect_end(text: str, pos: int) -> None:
    if _skip(text, pos) != len(text):
        raise ValueError(f"Extra data: char {pos}")


#: (index, item) -> the selected item (ItemSelector applied)
Selector = Callable[[int, Any], Any]


class ChildInputs(Sequence[Any]):
    """The child inputs of a Map Run, built one at a time from the items."""

    def __init__(self, items: Sequence[Any], select: Selector) -> None:
        """Runs the ItemSelector on every item now (its errors fail the Map before it starts,
        as before), keeping only each selected item's size; until ``batch`` is called, each
        selected item is one child's input."""
        self.items = items
        self.select = select
        self.sizes = array(
            "q", (payload_size(to_json(select(i, it))) for i, it in enumerate(items))
        )
        self.base: dict[str, Any] | None = None
        self.bounds = array("q", range(len(items) + 1))

    def batch(self, base: dict[str, Any], max_items: float | None, max_bytes: float | None) -> None:
        """ItemBatcher: ``base`` is ``{"Items": []}`` (plus ``BatchInput``); a batch closes
        before an item that would pass MaxItemsPerBatch or MaxInputBytesPerBatch (a lone item
        always makes a batch)."""
        self.base = base
        self.bounds = array("q", [0])
        base_size = payload_size(to_json(base))
        count, size = 0, base_size
        for i, item_size in enumerate(self.sizes):
            grown = size + item_size + (1 if count else 0)
            if count and ((max_items and count >= max_items) or (max_bytes and grown > max_bytes)):
                self.bounds.append(i)
                count, grown = 0, base_size + item_size
            count += 1
            size = grown
        if count:
            self.bounds.append(len(self.sizes))

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        start, end = self.bounds[index], self.bounds[index + 1]
        selected = [self.select(i, self.items[i]) for i in range(start, end)]
        if self.base is None:
            return selected[0]
        return {**self.base, "Items": selected}
