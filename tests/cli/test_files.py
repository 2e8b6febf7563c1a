"""`wdl2sfn files RUN [PATH] [-r] [--get DEST]` on a local run: the run folder listed and fetched,
and never a path out of it (on AWS the same step runs as a runner job: tests/rehearsal)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ..conftest import SAMPLES
from ..integration.helpers import wdl2sfn

HELLO = SAMPLES / "hello" / "hello.wdl"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    done = wdl2sfn("run", str(HELLO), "--dir", str(root), cwd=HELLO.parent)
    assert done.code == 0, done.stderr
    return Path(json.loads(done.stdout)["dir"])


def files(run: Path, *args: str) -> dict:
    done = wdl2sfn("files", run.name, *args, "--dir", str(run.parent))
    assert done.code == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_files_lists_the_top_of_the_run_folder(run: Path) -> None:
    entries = {e["path"]: e["type"] for e in files(run)["entries"]}
    assert entries["calls"] == "folder"
    assert entries["run.json"] == "file"
    assert not any("/" in p for p in entries)


def test_files_recursive_lists_every_call_file_with_its_size(run: Path) -> None:
    entries = files(run, "calls", "-r")["entries"]
    stdout = [e for e in entries if e["path"].endswith("stdout.txt")]
    assert stdout and all(e["size"] == (run / e["path"]).stat().st_size for e in stdout)


def test_files_get_copies_a_folder_at_its_run_relative_paths(run: Path, tmp_path: Path) -> None:
    got = files(run, "calls", "--get", str(tmp_path))
    assert got["downloaded"]
    for copy in map(Path, got["downloaded"]):
        original = run / copy.relative_to(tmp_path / run.name)
        assert copy.read_bytes() == original.read_bytes()


def test_files_refuses_a_path_out_of_the_run_folder(run: Path) -> None:
    done = wdl2sfn("files", run.name, "../.wdl2sfn/_CACHE", "--dir", str(run.parent))
    assert done.code == 2
    assert "outside run" in done.stderr


def test_files_refuses_a_symlink_out_of_the_run_folder(run: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("not the run's")
    os.symlink(tmp_path / "secret", run / "escape")
    try:
        done = wdl2sfn("files", run.name, "escape", "--get", str(tmp_path / "got"),
                       "--dir", str(run.parent))  # fmt: skip
    finally:
        (run / "escape").unlink()
    assert done.code == 2
    assert "outside run" in done.stderr


def test_files_of_a_missing_path_names_it(run: Path) -> None:
    done = wdl2sfn("files", run.name, "calls/nothing", "--dir", str(run.parent))
    assert done.code == 2
    assert "calls/nothing: no such file or folder" in done.stderr
