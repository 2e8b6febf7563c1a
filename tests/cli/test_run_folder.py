"""A run folder a miniwdl user recognises (issue 24, item 2): the outputs JSON names files under
the run's own ``out/`` exactly where ``miniwdl run`` puts them, a call cache hit brings its files
into the new run, and a file deleted since the run is an error, never a silent dangling path."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from ..conftest import ROOT
from ..integration.helpers import Result, wdl2sfn

SHAPES = ROOT / "tests" / "fixtures" / "run_folder" / "shapes.wdl"
MINIWDL_HOST = ROOT / "bench" / "miniwdl_host.py"


def run(root: Path, *args: str) -> Result:
    done = wdl2sfn("run", str(SHAPES), "--dir", str(root), "--container", "host", *args)
    assert done.code == 0, done.stderr
    return done


def relative_outputs(answer: dict[str, Any]) -> Any:
    """The outputs JSON with each path relative to its run folder."""

    def rel(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rel(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rel(v) for v in value]
        if isinstance(value, str) and value.startswith("/"):
            return os.path.relpath(value, answer["dir"])
        return value

    return rel(answer["outputs"])


def test_outputs_json_names_the_files_where_miniwdl_run_puts_them(tmp_path: Path) -> None:
    import subprocess

    theirs = subprocess.run(
        [sys.executable, str(MINIWDL_HOST), "run", str(SHAPES), "--dir", str(tmp_path / "m")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert theirs.returncode == 0, theirs.stderr
    ours = run(tmp_path / "w")
    expected = relative_outputs(json.loads(theirs.stdout))
    assert relative_outputs(json.loads(ours.stdout)) == expected
    assert expected["shapes.many"][10] == "out/many/10/f9.txt"  # (11 files: two-digit indexes)
    assert (ours.run_dir / "out" / "dir" / "d" / "a.txt").read_text() == "a\n"


def test_the_run_folder_gets_a_LAST_link_to_the_newest_run(tmp_path: Path) -> None:
    run(tmp_path)
    newest = run(tmp_path).run_dir
    assert os.readlink(tmp_path / "_LAST") == newest.name


def test_a_cache_hit_keeps_working_after_the_older_run_is_deleted(tmp_path: Path) -> None:
    older = run(tmp_path).run_dir
    newer = run(tmp_path)
    assert "cached 1" in newer.stderr
    shutil.rmtree(older)
    shown = wdl2sfn("outputs", newer.run_dir.name, "--dir", str(tmp_path))
    assert shown.code == 0, shown.stderr
    assert Path(json.loads(shown.stdout)["outputs"]["shapes.one"]).read_text() == "0\n"


def test_outputs_of_a_run_whose_output_file_was_deleted_fail_naming_it(tmp_path: Path) -> None:
    done = run(tmp_path)
    Path(json.loads(done.stdout)["outputs"]["shapes.one"]).resolve().unlink()
    shown = wdl2sfn("outputs", done.run_dir.name, "--dir", str(tmp_path))
    assert shown.code != 0
    assert "shapes.one" in shown.stderr and "out/one/f0.txt" in shown.stderr


def test_files_get_recursive_copies_directory_outputs(tmp_path: Path) -> None:
    done = run(tmp_path)
    got = wdl2sfn(
        "files",
        done.run_dir.name,
        "out",
        "-r",
        "--get",
        str(tmp_path / "got"),
        "--dir",
        str(tmp_path),
    )
    assert got.code == 0, got.stderr
    copy = tmp_path / "got" / done.run_dir.name / "out" / "dir" / "d" / "a.txt"
    assert copy.read_text() == "a\n" and not copy.is_symlink()


def test_files_get_of_a_deleted_output_fails_naming_it(tmp_path: Path) -> None:
    done = run(tmp_path)
    (done.run_dir / "out" / "one" / "f0.txt").resolve().unlink()
    got = wdl2sfn(
        "files", done.run_dir.name, "out", "--get", str(tmp_path / "got"), "--dir", str(tmp_path)
    )
    assert got.code != 0
    assert "out/one/f0.txt" in got.stderr


SCATTER = """version 1.0
task t { input { Int i } command <<< echo ~{i} > o.txt >>> output { File o = "o.txt" } }
workflow sc { scatter (i in [1, 2, 3]) { call t { input: i = i } } output { Array[File] os = t.o } }
"""


def _run_scatter(tmp_path: Path, root: Path, *extra: str) -> Result:
    """SCATTER run to success under ``root``."""
    wdl = tmp_path / "sc.wdl"
    wdl.write_text(SCATTER)
    done = wdl2sfn("run", str(wdl), "--dir", str(root), "--container", "host", *extra)
    assert done.code == 0, done.stderr
    return done


def test_the_directory_gets_the_run_folder_and_LAST_and_nothing_else(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    done = _run_scatter(tmp_path, root)
    visible = {p.name for p in root.iterdir() if not p.name.startswith(".")}
    assert visible == {done.run_dir.name, "_LAST"}


def test_deleting_a_run_folder_deletes_the_run_scatter_scratch_included(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    done = _run_scatter(tmp_path, root)
    shutil.rmtree(done.run_dir)
    left = [p for p in root.rglob("*") if done.run_dir.name in str(p.relative_to(root))]
    assert left == []  # (a _LAST link is named _LAST)


def test_verbose_lines_name_the_shard(tmp_path: Path) -> None:
    done = _run_scatter(tmp_path, tmp_path, "-v")
    lines = done.stderr.splitlines()
    for i in range(3):
        assert f"t (shard {i}): job submitted" in lines and f"t (shard {i}): done" in lines
