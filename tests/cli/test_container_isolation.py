"""`run --container docker|podman` mounts only the run folder into a task's container: the task
sees its own run (its inputs localized into it), never the store (other runs, the call cache,
the sources) nor the user's files it was not given.

There is no Docker engine here: tests/fixtures/fake_container/docker.py stands in for the
client and gives the command the view a container would get from its `-v` mounts (a private
mount namespace where the test's folders are hidden and only the mounts are bound back)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import ROOT
from ..integration.helpers import Result, wdl2sfn

FAKE = ROOT / "tests" / "fixtures" / "fake_container" / "docker.py"

PEEK = """version development
task peek {
  input {
    File data
    Directory folder
    File elsewhere
    String user_path
  }
  command <<<
    cat ~{data} ~{elsewhere}
    ls ~{folder} | wc -l > n_files
    ls -A ../../../.. > store_listing
    [ -e ~{user_path} ] && echo yes > user_file || echo no > user_file
  >>>
  output {
    String text = read_string(stdout())
    Int n_files = read_int("n_files")
    Array[String] store_listing = read_lines("store_listing")
    String sees_user_file = read_string("user_file")
  }
}
"""


@pytest.fixture
def other_fs() -> Iterator[Path]:
    """A folder on another file system where there is one (a tmpfs): no hard link reaches it."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    folder = Path(tempfile.mkdtemp(prefix="wdl2sfn-test-", dir=base))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_in_fake_docker(tmp_path: Path, other_fs: Path, *args: str) -> tuple[Result, list]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    docker = bindir / "docker"
    docker.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    docker.chmod(0o755)
    log = tmp_path / "docker-argv.jsonl"
    env = {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_DOCKER_LOG": str(log),
        "FAKE_DOCKER_HIDE": f"{tmp_path}{os.pathsep}{other_fs}",
    }
    out = wdl2sfn("run", *args, "--container", "docker", env=env)
    runs = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return out, runs


@pytest.fixture
def peek_run(tmp_path: Path, other_fs: Path) -> tuple[Result, list, Path]:
    data = tmp_path / "data"
    (data / "folder").mkdir(parents=True)
    (data / "in.txt").write_text("given\n")
    (data / "folder" / "a").write_text("a")
    (data / "folder" / "b").write_text("b")
    (data / "secret.txt").write_text("not an input\n")
    (other_fs / "far.txt").write_text("from another file system\n")
    wdl = data / "peek.wdl"
    wdl.write_text(PEEK)
    store = tmp_path / "store"
    out, runs = run_in_fake_docker(
        tmp_path, other_fs, str(wdl), f"data={data / 'in.txt'}", f"folder={data / 'folder'}",
        f"elsewhere={other_fs / 'far.txt'}", f"user_path={data / 'secret.txt'}",
        "-d", str(store),
    )  # fmt: skip
    return out, runs, store


def test_container_mounts_only_the_run_folder(peek_run):
    out, runs, store = peek_run
    assert out.code == 0, out.stderr
    (argv,) = runs
    mounts = [argv[i + 1] for i, a in enumerate(argv) if a == "-v"]
    assert mounts == [f"{out.run_dir}:{out.run_dir}"]
    assert out.run_dir.parent == store


def test_task_in_a_container_sees_no_other_part_of_the_store(peek_run):
    out, _, _ = peek_run
    assert out.code == 0, out.stderr
    # the store root, as the task sees it: the folder its run is mounted at, nothing else
    assert out.json["outputs"]["peek.store_listing"] == [out.run_dir.name]
    assert (out.run_dir.parent / ".wdl2sfn" / "_CACHE").is_dir()  # it exists; unseen


def test_task_in_a_container_cannot_reach_user_files_it_was_not_given(peek_run):
    out, _, _ = peek_run
    assert out.json["outputs"]["peek.sees_user_file"] == "no"


def test_inputs_from_outside_the_run_are_localized_into_it(peek_run):
    out, _, _ = peek_run
    outputs = out.json["outputs"]
    assert outputs["peek.text"] == "given\nfrom another file system"
    assert outputs["peek.n_files"] == 2
    inputs = out.run_dir / "calls" / "peek" / "inputs"
    placed = [p for p in inputs.rglob("*") if p.is_file() or p.is_symlink()]
    assert placed and not any(p.is_symlink() for p in placed)


def test_host_jobs_still_see_the_store_and_link_inputs(tmp_path, other_fs):
    """Without --container nothing is narrowed: the host is the task's file system."""
    data = tmp_path / "data"
    (data / "folder").mkdir(parents=True)
    (data / "in.txt").write_text("given\n")
    (other_fs / "far.txt").write_text("far\n")
    wdl = data / "peek.wdl"
    wdl.write_text(PEEK)
    out = wdl2sfn(
        "run", str(wdl), f"data={data / 'in.txt'}", f"folder={data / 'folder'}",
        f"elsewhere={other_fs / 'far.txt'}", f"user_path={data / 'in.txt'}",
        "-d", str(tmp_path / "store"),
    )  # fmt: skip
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["peek.sees_user_file"] == "yes"
    assert ".wdl2sfn" in out.json["outputs"]["peek.store_listing"]
