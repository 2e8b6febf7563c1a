"""The run store: where every WDL value of a run lives, so state payloads stay O(1).

Layout (mirrors miniwdl's run directory; see docs/design.md):

    <root>/<run>/run.json  inputs.json  outputs.json  error.json  history.jsonl  wdl/...
    <root>/<run>/calls/<call.path>[/shard-<i>...]/    (task calls: command, stdout.txt, work/ ...)
    <root>/<run>/_values/<node ref>/<shard>.json        (declarations, scatter items, conditions)
    <root>/_CACHE/call/...                               (call cache)
    <root>/_workflows/<digest>/...                       (workflow sources, by content digest)
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..workflow_index import call_path
from .atomic import write_json_atomic

Shard = tuple[int, ...]


def shard_parts(shard: Sequence[int]) -> list[str]:
    return [f"shard-{i}" for i in shard]


@dataclass(frozen=True)
class RunStore:
    root: Path

    def run_dir(self, run: str) -> Path:
        if not run or "/" in run or run.startswith("."):
            raise ValueError(f"invalid run name {run!r}")
        return self.root / run

    def workflows_dir(self, digest: str) -> Path:
        return self.root / "_workflows" / digest

    def cache_root(self) -> Path:
        return self.root / "_CACHE" / "call"

    def call_dir(self, run: str, ref: str, shard: Sequence[int]) -> Path:
        return self.run_dir(run).joinpath("calls", call_path(ref), *shard_parts(shard))

    def value_path(self, run: str, ref: str, shard: Sequence[int], suffix: str = "") -> Path:
        leaf = "/".join(shard_parts(shard)) or "value"
        return self.run_dir(run) / "_values" / ref / f"{leaf}{suffix}.json"

    def items_key(self, run: str, ref: str, shard: Sequence[int]) -> str:
        """Key of a scatter's items file, relative to the root (= the RunBucket key on AWS), under
        the scratch prefix the bucket's lifecycle rule expires."""
        from ..contract import ITEMS_PREFIX

        rel = os.path.relpath(self.value_path(run, ref, shard, ".items"), self.root)
        return f"{ITEMS_PREFIX}/{rel}"

    def read_json(self, path: Path) -> Any:
        with open(path) as f:
            return json.load(f)

    def write_json(self, path: Path, obj: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, obj, indent=None)
