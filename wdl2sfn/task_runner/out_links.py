"""A run's ``out/`` folder: miniwdl's layout of links to the workflow's output files.

miniwdl (``WDL.runtime._io_helpers.link_outputs``) links each output file under
``out/<output>/...`` and names those links, not the files deep in the call folders, in the outputs
JSON. Users of ``miniwdl run`` look there, scripts read those paths, so wdl2sfn does the same:
an array element under its index (zero-padded to the array's width, as miniwdl), a pair under
``left``/``right``, a map under its key (when every key is a plain file name, else its index), a
struct under its member's name. Links are relative, so the run folder can move.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from pathlib import Path

import WDL

from .. import wdl
from .value_files import type_may_hold_files

OUT = "out"
_PLAIN_KEY = re.compile(r"[-_a-zA-Z0-9][-_a-zA-Z0-9.]*")


def link_outputs(
    run_dir: Path, outputs: WDL.Env.Bindings[WDL.Value.Base]
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """Make ``out/`` and return the outputs with each existing file named by its link there."""
    store = os.path.realpath(run_dir.parent)

    def link(binding: WDL.Env.Binding[WDL.Value.Base]) -> WDL.Env.Binding[WDL.Value.Base]:
        value = binding.value
        if type_may_hold_files(value.type):  # (an Array[Int] of 100,000 needs no walk)
            value = WDL.Value.rewrite_paths(value, lambda v: v.value)  # a deep copy to rewrite
            value = _link_value(value, run_dir / OUT / binding.name, store)
        return WDL.Env.Binding(binding.name, value)

    return outputs.map(link)


def _width(n: int) -> int:
    """miniwdl's index width: ``ceil(log10(n))`` digits (so 10 elements are 0..9)."""
    return int(math.ceil(math.log10(n))) if n else 0


def _link_value(value: WDL.Value.Base, where: Path, store: str) -> WDL.Value.Base:
    if isinstance(value, WDL.Value.File | WDL.Value.Directory):
        value.value = _link_file(str(value.value), where, store)
    elif isinstance(value, WDL.Value.Array) and value.value:
        d = _width(len(value.value))
        value.value = [
            _link_value(v, where / str(i).rjust(d, "0"), store) for i, v in enumerate(value.value)
        ]
    elif isinstance(value, WDL.Value.Pair):
        left, right = value.value
        value.value = (
            _link_value(left, where / "left", store),
            _link_value(right, where / "right", store),
        )
    elif isinstance(value, WDL.Value.Map) and value.value:
        keys = [str(k.value).strip("'\"") for k, _ in value.value]
        plain = all(_PLAIN_KEY.fullmatch(k) for k in keys)
        d = _width(len(keys))
        value.value = [
            (k, _link_value(v, where / (name if plain else str(i).rjust(d, "0")), store))
            for i, ((k, v), name) in enumerate(zip(value.value, keys, strict=True))
        ]
    elif isinstance(value, WDL.Value.Struct):
        for member, item in list(value.value.items()):
            value.value[member] = _link_value(item, where / member, store)
    return value


def _link_file(path: str, where: Path, store: str) -> str:
    """The link ``where/<basename>`` -> path (relative); the path itself if it is gone."""
    path = path.rstrip("/")
    if not os.path.exists(path):
        return path
    where.mkdir(parents=True, exist_ok=True)
    link = where / os.path.basename(path)
    real = os.path.realpath(path)
    if wdl.path_really_within(real, store):
        target = os.path.relpath(real, os.path.realpath(where))  # in the store: relative
    else:
        target = real  # a file outside the store (as miniwdl: an absolute link)
    if os.path.islink(link) and os.readlink(link) == target:
        return str(link)
    with contextlib.suppress(FileNotFoundError):
        link.unlink()  # a re-run finalize (resume) may link a different file
    os.symlink(target, link)
    return str(link)


def dangling_outputs(run_dir: Path, outputs: object, name: str = "") -> list[str]:
    """Output names whose ``out/`` path (in an outputs JSON) no longer leads to a file: the
    file was deleted, or the call folder it lived in."""
    out = str(run_dir / OUT) + os.sep
    if isinstance(outputs, dict):
        return [d for k, v in outputs.items() for d in dangling_outputs(run_dir, v, k)]
    if isinstance(outputs, list):
        return [d for v in outputs for d in dangling_outputs(run_dir, v, name)]
    if isinstance(outputs, str) and outputs.startswith(out) and not os.path.exists(outputs):
        return [f"{name}: {outputs}"]
    return []
