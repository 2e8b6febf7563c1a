"""A task handed a `Directory` input sees its files as files (issue 23, item 4).

`find DIR -type f` does not follow a symlink given as its starting point, so a Directory placed in
the call folder as one symlink to the upstream output looked empty to it (`ls -R` followed the
link and listed the files). The Directory is placed as a real folder (a tree of hard links), in
WDL 1.2 as in `version development`, so every tool sees the same files without `find -L`. (WDL 1.1
has no `Directory` type: miniwdl refuses it, `Unknown type Directory`.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..integration.helpers import Result, wdl2sfn
from .test_container_isolation import other_fs, run_in_fake_docker

__all__ = ["other_fs"]  # the fixture, used below

TWO_TASKS = """version VERSION
task make {
  command <<<
    mkdir -p out/a/b
    echo one > out/a/x.txt
    echo two > out/a/b/y.txt
  >>>
  output {
    Directory d = "out"
  }
}
task look {
  input {
    Directory d
  }
  command <<<
    find ~{d} -type f | sort | sed "s|^~{d}/||" > found
    ls -R ~{d} > listed
    find ~{d} -type f | wc -l > count
  >>>
  output {
    Array[String] found = read_lines("found")
    String listed = read_string("listed")
    Int count = read_int("count")
  }
}
workflow w {
  call make
  call look { input: d = make.d }
  output {
    Array[String] found = look.found
    String listed = look.listed
    Int count = look.count
  }
}
"""


def _sees_the_files(out: Result) -> None:
    assert out.code == 0, out.stderr
    outputs = out.json["outputs"]
    assert outputs["w.found"] == ["a/b/y.txt", "a/x.txt"]
    assert outputs["w.count"] == 2
    assert "x.txt" in outputs["w.listed"] and "y.txt" in outputs["w.listed"]


@pytest.mark.parametrize("version", ["1.2", "development"])
def test_find_type_f_sees_the_files_of_a_directory_input(tmp_path: Path, version: str) -> None:
    wdl = tmp_path / "dirs.wdl"
    wdl.write_text(TWO_TASKS.replace("VERSION", version))
    _sees_the_files(
        wdl2sfn("run", str(wdl), "--container", "host", "--dir", str(tmp_path / "runs"))
    )


def test_a_contained_task_sees_the_same_files(tmp_path: Path, other_fs: Path) -> None:
    """The same run in a container (the stand-in docker client), as on AWS: the same answer."""
    wdl = tmp_path / "dirs.wdl"
    wdl.write_text(TWO_TASKS.replace("VERSION", "1.2"))
    _sees_the_files(
        run_in_fake_docker(tmp_path, other_fs, str(wdl), "--dir", str(tmp_path / "r"))[0]
    )
