"""A call cache hit's files, brought into the new run.

A hit's entry names the files of the call that made it, in an older run's folder. Naming those
in the new run would tie it to the old one: delete the old run folder and the new run's outputs
(and ``out/`` links) dangle. So each output file under the old call folder is hard-linked (the
same bytes, no copy) into the new call folder at the same relative path, or copied where a link
is impossible (another file system); a Directory is re-created with its files linked so. The
new call's outputs name those files. A file outside the old call folder (an input the task
passed through, from outside the store) is named as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import WDL

from .. import wdl


def adopt_outputs(
    entry: dict[str, Any], output_types: WDL.Env.Bindings[WDL.Type.Base], call_dir: Path
) -> Any:
    """The entry's outputs (JSON), their files linked or copied into ``call_dir``."""
    old_dir = str(entry.get("dir") or "")
    outputs = WDL.values_from_json(entry["outputs"], output_types)
    if not old_dir or os.path.realpath(old_dir) == os.path.realpath(call_dir):
        return entry["outputs"]

    def bring(value: WDL.Value.File | WDL.Value.Directory) -> str:
        path = str(value.value).rstrip("/")
        if not wdl.path_really_within(path, old_dir):
            return path
        dest = call_dir / os.path.relpath(path, old_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, WDL.Value.Directory):
            if not dest.exists():
                shutil.copytree(path, dest, symlinks=True, copy_function=link_or_copy)
        elif not dest.exists():
            link_or_copy(path, str(dest))
        return str(dest)

    adopted = outputs.map(
        lambda b: WDL.Env.Binding(b.name, WDL.Value.rewrite_paths(b.value, bring))
    )
    return WDL.values_to_json(adopted)


def link_or_copy(src: str, dest: str) -> str:
    """A hard link (same bytes, no space), else a copy (another file system, or links refused)."""
    try:
        os.link(src, dest, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dest, follow_symlinks=False)
    return dest
