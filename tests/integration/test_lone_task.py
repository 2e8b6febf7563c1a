"""A document holding only a task runs as `miniwdl run` runs it, named after the task everywhere
a user looks: outputs JSON keys, run folder, call folder, failure lines, status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT
from .helpers import wdl2sfn

LONE = str(ROOT / "tests" / "fixtures" / "bwa_mem.wdl")
MINIWDL_HOST = str(ROOT / "bench" / "miniwdl_host.py")


def miniwdl_run(tmp_path: Path, *args: str) -> dict:
    """`miniwdl run` on the host-subprocess backend (no Docker engine here)."""
    out = subprocess.run(
        [sys.executable, MINIWDL_HOST, "run", *args, "--dir", str(tmp_path / "miniwdl")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_lone_task_outputs_json_has_miniwdl_keys_and_values(tmp_path):
    theirs = miniwdl_run(tmp_path, LONE, "sample=s1", "threads=3")
    ours = wdl2sfn("run", LONE, "sample=s1", "threads=3", "--dir", str(tmp_path / "ours"))
    assert ours.code == 0, ours.stderr
    assert sorted(ours.json["outputs"]) == sorted(theirs["outputs"])
    assert ours.json["outputs"]["bwa_mem.used_threads"] == theirs["outputs"]["bwa_mem.used_threads"]
    mine, miniwdls = ours.json["outputs"]["bwa_mem.sam"], theirs["outputs"]["bwa_mem.sam"]
    assert Path(mine).read_text() == Path(miniwdls).read_text() == "aligned s1\n"


def test_lone_task_run_and_call_folders_are_named_after_the_task(tmp_path):
    out = wdl2sfn("run", LONE, "sample=s1", "--dir", str(tmp_path))
    assert out.code == 0, out.stderr
    assert out.run_dir.name.endswith("_bwa_mem")
    assert [p.name for p in (out.run_dir / "calls").iterdir()] == ["bwa_mem"]


def test_lone_task_failure_names_the_task(tmp_path):
    out = wdl2sfn("run", LONE, "sample=s1", "exit_code=4", "--dir", str(tmp_path))
    assert out.code == 4, out.stderr
    assert out.json["call"] == "bwa_mem"
    run_dir = Path(out.json["dir"])
    assert out.last_line == (
        "wdl2sfn: call bwa_mem failed with exit status 4: bwa mem: reading s1 "
        f"(logs: {run_dir / 'calls' / 'bwa_mem'})"
    )
    assert "bwa_mem_task" not in out.stdout + out.stderr


def test_lone_task_status_counts_the_call_under_the_task_name(tmp_path):
    out = wdl2sfn("run", LONE, "sample=s1", "exit_code=4", "--dir", str(tmp_path))
    status = wdl2sfn("status", "--dir", str(tmp_path), Path(out.json["dir"]).name)
    assert status.code == 0, status.stderr
    shown = status.json
    assert shown["workflow"] == "bwa_mem"
    assert list(shown["calls"]) == ["bwa_mem"]
    assert shown["calls"]["bwa_mem"]["failed"] == 1
    assert shown["error"].startswith("call bwa_mem failed with exit status 4")


def test_lone_task_compiles_to_states_named_after_the_task():
    out = wdl2sfn("compile", LONE)
    assert out.code == 0, out.stderr
    assert "call bwa_mem" in out.json["States"]
    assert "bwa_mem_task" not in out.stdout


def test_task_picked_from_a_workflow_document_is_named_after_the_task(tmp_path):
    out = wdl2sfn(
        "run",
        str(ROOT / "tests" / "fixtures" / "retries.wdl"),
        "--task",
        "spot_task",
        "--dir",
        str(tmp_path),
    )
    assert out.code == 0, out.stderr
    assert sorted(out.json["outputs"]) == ["spot_task.out"]
    assert [p.name for p in (out.run_dir / "calls").iterdir()] == ["spot_task"]
