"""Issue 13, input files: a task that writes to its input cannot change where the input came from."""

from __future__ import annotations

import os
from pathlib import Path

from .helpers import wdl2sfn

APPEND = """version 1.0
workflow w {
  input { File given }
  call make
  call append as append_upstream { input: f = make.out }
  call append as append_given { input: f = given }
  output {
    String upstream = read_string(make.out)
    Array[String] tries = [append_upstream.said, append_given.said]
  }
}
task make { command <<< echo made > out.txt >>> output { File out = "out.txt" } }
task append {
  input { File f }
  command <<< (echo tampered >> ~{f}) 2>/dev/null && echo appended || echo refused >>>
  output { String said = read_string(stdout()) }
}
"""


def run(tmp_path: Path, *options: str):  # type: ignore[no-untyped-def]
    wf = tmp_path / "w.wdl"
    wf.write_text(APPEND)
    given = tmp_path / "mine.txt"
    given.write_text("mine\n")
    out = wdl2sfn("run", str(wf), f"given={given}", *options, "--dir", str(tmp_path / "runs"))
    assert out.code == 0, out.stderr
    return out, given


def test_an_upstream_output_given_to_a_task_is_read_only(tmp_path):
    out, _ = run(tmp_path)
    (made,) = out.run_dir.glob("calls/make/work/out.txt")
    assert made.stat().st_mode & 0o222 == 0
    if os.geteuid() != 0:  # root writes through any mode: --copy-input-files is its protection
        assert out.json["outputs"]["w.upstream"] == "made"
        assert out.json["outputs"]["w.tries"][0] == "refused"


def test_with_copy_input_files_neither_the_upstream_output_nor_the_users_file_changes(tmp_path):
    out, given = run(tmp_path, "--copy-input-files")
    assert given.read_text() == "mine\n"
    assert out.json["outputs"]["w.upstream"] == "made"
