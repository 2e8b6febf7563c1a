"""The File and Directory values inside a WDL value, found without copying it.

miniwdl's `rewrite_env_paths` deep-copies a whole environment to visit its files; a workflow
output of 100,000 Ints would be copied (and walked) only to find none. Here a value whose type
cannot hold a file is skipped whole, and nothing is copied.
"""

from __future__ import annotations

from collections.abc import Iterator

import WDL


def type_may_hold_files(t: WDL.Type.Base) -> bool:
    """Can a value of type `t` contain a File or Directory? (Yes when unknown: Any, Object.)"""
    if isinstance(t, WDL.Type.File | WDL.Type.Directory | WDL.Type.Any | WDL.Type.Object):
        return True
    if isinstance(t, WDL.Type.StructInstance) and t.members is None:
        return True
    return any(type_may_hold_files(p) for p in t.parameters)


def file_values(value: WDL.Value.Base) -> Iterator[WDL.Value.File | WDL.Value.Directory]:
    """Every File/Directory value inside `value` (itself included), in miniwdl's visit order."""
    if isinstance(value, WDL.Value.File | WDL.Value.Directory):
        yield value
        return
    if not type_may_hold_files(value.type):
        return
    for child in value.children:
        yield from file_values(child)
