"""The run store: where every WDL value of a run lives, so state payloads stay O(1).

Layout (mirrors miniwdl's run directory; see docs/design.md):

    <root>/<run>/run.json  inputs.json  outputs.json  error.json  history.jsonl  wdl/...
    <root>/<run>/calls/<call.path>[/shard-<i>...]/    (task calls: command, stdout.txt, work/ ...)
    <root>/<run>/_values/<node ref>/<shard>.json        (declarations, scatter items, conditions)
    <root>/<run>/out/<output>/...                        (links to the output files, as miniwdl's)
    <root>/<run>/_inputs/<digest>/<name>                 (read-only copies of the user's files)
    <root>/<run>/_items/...  _map_results/...  _steps/... (locally: the run's bucket scratch)
    <root>/_LAST -> <run>                                (the newest run, as miniwdl's)
    <shared>/_CACHE/call/...                             (call cache)
    <shared>/_workflows/<digest>/...                     (workflow sources, by content digest)
    <shared>/_DOWNLOADS/...  _batch/...                  (downloaded URIs; the local Batch)

``<shared>`` is ``<root>/.wdl2sfn`` (``WDL2SFN_SHARED_DIR``): what no run owns stays out of the
folder the user runs in, which holds run folders and ``_LAST`` only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .atomic import write_json_atomic

Shard = tuple[int, ...]


def shard_parts(shard: Sequence[int]) -> list[str]:
    return [f"shard-{i}" for i in shard]


@dataclass(frozen=True)
class RunStore:
    """The one owner of the store's names: every other module spells a run-folder name through
    these attributes and methods, so the layout (docs/design.md) can change in one place."""

    root: Path

    # in a run folder
    RECORD: ClassVar[str] = "run.json"  # the run record (init's payload, the queues' ARNs)
    INPUTS: ClassVar[str] = "inputs.json"  # a run's (or a call's) inputs
    OUTPUTS: ClassVar[str] = "outputs.json"  # a run's (or a call's) outputs
    ERROR: ClassVar[str] = "error.json"  # a failed run's (or call's) error, as miniwdl's
    HISTORY: ClassVar[str] = "history.jsonl"  # the execution's events (GetExecutionHistory)
    SOURCES: ClassVar[str] = "wdl"  # the workflow's sources, as init fetched them
    CALLS: ClassVar[str] = "calls"  # one folder per task call (and shard)
    VALUES: ClassVar[str] = "_values"
    JOINS: ClassVar[str] = "_joins"  # exact joins' task tokens
    CALLBACKS: ClassVar[str] = "_callbacks"  # task-token answers of local runner jobs
    # in a call folder
    COMMAND: ClassVar[str] = "command"
    STDOUT: ClassVar[str] = "stdout.txt"
    STDERR: ClassVar[str] = "stderr.txt"
    TASK_LOG: ClassVar[str] = "task.log"
    # under the store's root
    WORKFLOWS: ClassVar[str] = "_workflows"  # sources by content digest
    CACHE: ClassVar[str] = "_CACHE"  # the call cache (``call/<key>.json``)
    CACHE_SECRET: ClassVar[str] = ".key"  # beside the cache: its sealing secret
    BATCH: ClassVar[str] = "_batch"  # the local Batch's job definitions and ledger
    DOWNLOADS: ClassVar[str] = "_DOWNLOADS"  # fetched URIs, by content
    LAST: ClassVar[str] = "_LAST"  # a link to the newest run, as miniwdl's

    def run_dir(self, run: str) -> Path:
        if not run or "/" in run or run.startswith("."):
            raise ValueError(f"invalid run name {run!r}")
        return self.root / run

    def record_path(self, run: str) -> Path:
        return self.run_dir(run) / self.RECORD

    def shared_root(self) -> Path:
        """The folder of what no run owns (``WDL2SFN_SHARED_DIR``, relative to the root)."""
        from ..contract.settings import load_settings

        return self.root / load_settings().shared_dir

    def workflows_dir(self, digest: str) -> Path:
        return self.shared_root() / self.WORKFLOWS / digest

    def cache_root(self) -> Path:
        return self.shared_root() / self.CACHE / "call"

    def batch_dir(self) -> Path:
        return self.shared_root() / self.BATCH

    def downloads_dir(self) -> Path:
        return self.shared_root() / self.DOWNLOADS

    def key_path(self, key: str, run: str | None = None) -> Path:
        """The local file of run-bucket key ``key`` (where there is no bucket): run scratch
        (``_items/<run>/...``, ``_steps/<run>/...``; ``_map_results/...`` of ``run``) inside its
        run folder, so deleting the folder deletes the run; any other key under the root."""
        from ..contract import ITEMS_PREFIX, MAP_RESULTS_PREFIX, STEPS_PREFIX

        parts = [p for p in key.split("/") if p]
        if not parts or ".." in parts:
            raise ValueError(f"invalid store key {key!r}")
        if parts[0] in (ITEMS_PREFIX, STEPS_PREFIX) and len(parts) > 2:
            return self.run_dir(parts[1]).joinpath(parts[0], *parts[2:])
        if parts[0] == MAP_RESULTS_PREFIX and run is not None:
            return self.run_dir(run).joinpath(*parts)
        return self.root.joinpath(*parts)

    def call_dir(self, run: str, ref: str, shard: Sequence[int]) -> Path:
        # imported here: the index imports miniwdl (~0.2 s), which `list`/`status` never need
        from ..workflow_index import call_path

        return self.run_dir(run).joinpath(self.CALLS, call_path(ref), *shard_parts(shard))

    def value_path(self, run: str, ref: str, shard: Sequence[int], suffix: str = "") -> Path:
        leaf = "/".join(shard_parts(shard)) or "value"
        return self.run_dir(run) / self.VALUES / ref / f"{leaf}{suffix}.json"

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
