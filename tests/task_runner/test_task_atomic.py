"""Atomic writes: a writer killed mid-way never leaves a partial file under the real name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from wdl2sfn.task_runner.atomic import (
    is_temp_name,
    link_atomic,
    write_json_atomic,
    write_text_atomic,
)


def test_write_json_atomic_round_trips_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "outputs.json"
    write_json_atomic(path, {"a": [1, 2], "b": None})
    assert json.loads(path.read_text()) == {"a": [1, 2], "b": None}
    assert os.listdir(path.parent) == ["outputs.json"]


def test_rewrite_replaces_content_entirely(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    write_text_atomic(path, "long old content " * 100)
    write_text_atomic(path, "new")
    assert path.read_text() == "new"


def test_unserializable_json_leaves_previous_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    write_json_atomic(path, {"v": 1})
    try:
        write_json_atomic(path, {"v": object()})
    except TypeError:
        pass
    assert json.loads(path.read_text()) == {"v": 1}
    assert os.listdir(tmp_path) == ["o.json"]


def test_writer_killed_mid_write_leaves_no_partial_file(tmp_path: Path) -> None:
    """A child writes a large JSON and is SIGKILLed while its data is still being fsync'd: the
    destination is either absent or the old complete content, never partial."""
    target = tmp_path / "outputs.json"
    write_json_atomic(target, {"old": True})
    ready = tmp_path / "ready"
    child = textwrap.dedent(
        f"""
        import os, time
        from wdl2sfn.task_runner import atomic
        real_fsync = os.fsync
        def slow_fsync(fd):
            open({str(ready)!r}, "w").close()
            time.sleep(30)
        os.fsync = slow_fsync
        atomic.write_json_atomic({str(target)!r}, {{"big": ["x" * 1000] * 5000}})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert proc.poll() is None, "child exited early"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert json.loads(target.read_text()) == {"old": True}
    leftovers = [n for n in os.listdir(tmp_path) if n not in ("outputs.json", "ready")]
    assert leftovers and all(is_temp_name(n) for n in leftovers)


def test_link_atomic_replaces_an_existing_link(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("a")
    b.write_text("b")
    dest = tmp_path / "d" / "f"
    link_atomic(a, dest, "sym")
    link_atomic(b, dest, "hard")
    assert dest.read_text() == "b" and not dest.is_symlink()
    assert sorted(os.listdir(dest.parent)) == ["f"]
