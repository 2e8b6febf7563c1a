"""The call cache: hit, miss, invalidation by changed files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import WDL

from wdl2sfn.task_runner import cache as call_cache
from wdl2sfn.task_runner.task import TaskContext, collect_task, prepare_task

QUEUES = {"cpu": "arn:q/cpu", "spot": "arn:q/spot", "gpu": "arn:q/gpu"}

SRC = """
task count {
  input {
    File f
    String tag = "x"
  }
  command <<< wc -l < ~{f} > n.txt; echo ran >&2 >>>
  output {
    Int n = read_int("n.txt")
    File nfile = "n.txt"
    String t = tag
  }
}
"""


class Defs:
    def describe_job_definitions(self, **kw: Any) -> dict[str, Any]:
        return {"jobDefinitions": [{"status": "ACTIVE"}]}

    def register_job_definition(self, **kw: Any) -> dict[str, Any]:
        return {}


def load(tmp_path: Path, src: str = SRC) -> WDL.Tree.Task:
    p = tmp_path / "src" / "t.wdl"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("version 1.1\n" + src)
    return WDL.load(str(p)).tasks[0]


def ctx_for(tmp_path: Path, run: str, cache: bool = True) -> TaskContext:
    store = tmp_path / "store"
    return TaskContext(
        call_dir=store / run / "calls" / "call-count",
        call_name="count",
        job_name="c-call-count",
        queues=QUEUES,
        job_definitions=Defs(),
        store_root=store,
        cache_root=(store / "_CACHE" / "call") if cache else None,
    )


def call(task: WDL.Tree.Task, ctx: TaskContext, inputs: dict[str, Any]) -> bool:
    """Run the call; True when it came from the cache."""
    prepared = prepare_task(task, WDL.values_from_json(inputs, task.available_inputs), ctx)
    if prepared.cached:
        return True
    assert prepared.job is not None
    subprocess.run(prepared.job["overrides"]["Command"], capture_output=True, check=True)
    collect_task(task, ctx)
    return False


def test_second_run_with_same_inputs_is_a_cache_hit(tmp_path: Path) -> None:
    task = load(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("a\nb\nc\n")
    first = ctx_for(tmp_path, "run1")
    assert call(task, first, {"f": str(data)}) is False
    second = ctx_for(tmp_path, "run2")
    assert call(task, second, {"f": str(data)}) is True
    out1 = json.loads((first.call_dir / "outputs.json").read_text())
    out2 = json.loads((second.call_dir / "outputs.json").read_text())
    assert out1 == {"n": 3, "nfile": str(first.call_dir / "work/n.txt"), "t": "x"}
    # the hit's file is brought into the new call (a link, or a copy), not named in the old run
    assert out2 == {**out1, "nfile": str(second.call_dir / "work/n.txt")}
    assert Path(out2["nfile"]).read_text() == Path(out1["nfile"]).read_text()
    note = json.loads((second.call_dir / "cached_from").read_text())
    assert note["dir"] == str(first.call_dir)
    assert not (second.call_dir / "stdout.txt").exists()  # no job ran


def test_cache_key_is_miniwdls(tmp_path: Path) -> None:
    task = load(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    inputs = WDL.values_from_json({"f": str(data)}, task.available_inputs)
    key = call_cache.cache_key(task, inputs)
    name, digest, inputs_digest = key.split("/")
    assert (name, digest) == ("count", task.digest)
    assert len(inputs_digest) == 32


def test_different_input_value_misses(tmp_path: Path) -> None:
    task = load(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    assert call(task, ctx_for(tmp_path, "run1"), {"f": str(data)}) is False
    assert call(task, ctx_for(tmp_path, "run2"), {"f": str(data), "tag": "y"}) is False


def test_changed_input_file_mtime_invalidates_the_entry(tmp_path: Path) -> None:
    task = load(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    assert call(task, ctx_for(tmp_path, "run1"), {"f": str(data)}) is False
    st = os.stat(data)
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    ctx = ctx_for(tmp_path, "run2")
    assert call(task, ctx, {"f": str(data)}) is False
    assert json.loads((ctx.call_dir / "outputs.json").read_text())["n"] == 1
    # the new entry is valid again
    assert call(task, ctx_for(tmp_path, "run3"), {"f": str(data)}) is True


def test_rewritten_input_file_content_invalidates_the_entry(tmp_path: Path) -> None:
    task = load(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    assert call(task, ctx_for(tmp_path, "run1"), {"f": str(data)}) is False
    data.write_text("a\nb\n")
    ctx = ctx_for(tmp_path, "run2")
    assert call(task, ctx, {"f": str(data)}) is False
    assert json.loads((ctx.call_dir / "outputs.json").read_text())["n"] == 2


def test_deleted_output_file_invalidates_the_entry(tmp_path: Path) -> None:
    task = load(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    first = ctx_for(tmp_path, "run1")
    assert call(task, first, {"f": str(data)}) is False
    (first.call_dir / "work" / "n.txt").unlink()
    assert call(task, ctx_for(tmp_path, "run2"), {"f": str(data)}) is False


def test_edited_task_misses(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    assert call(load(tmp_path), ctx_for(tmp_path, "run1"), {"f": str(data)}) is False
    edited = load(tmp_path, SRC.replace("echo ran", "echo ran again"))
    assert call(edited, ctx_for(tmp_path, "run2"), {"f": str(data)}) is False


def test_disabled_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    task = load(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    assert call(task, ctx_for(tmp_path, "run1", cache=False), {"f": str(data)}) is False
    assert not (tmp_path / "store" / "_CACHE").exists()
    assert call(task, ctx_for(tmp_path, "run2"), {"f": str(data)}) is False
    assert call(task, ctx_for(tmp_path, "run3", cache=False), {"f": str(data)}) is False


def test_failed_call_is_not_cached(tmp_path: Path) -> None:
    task = load(tmp_path, "task count { command <<< exit 1 >>> }")
    ctx = ctx_for(tmp_path, "run1")
    prepared = prepare_task(task, WDL.Env.Bindings(), ctx)
    assert prepared.job is not None
    subprocess.run(prepared.job["overrides"]["Command"], capture_output=True)
    try:
        collect_task(task, ctx)
    except Exception:
        pass
    assert not list((tmp_path / "store").glob("_CACHE/**/*.json"))


def test_unreadable_entry_is_a_miss_and_removed(tmp_path: Path) -> None:
    task = load(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    inputs = WDL.values_from_json({"f": str(data)}, task.available_inputs)
    root = tmp_path / "store" / "_CACHE" / "call"
    key = call_cache.cache_key(task, inputs)
    path = call_cache.entry_path(root, key)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert call_cache.lookup(root, key, task.effective_outputs) is None
    assert not path.exists()
