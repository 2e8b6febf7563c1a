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
    given.chmod(0o644)
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


HARD_LINK_OUT = """version 1.0
workflow w {
  input { File given }
  call relink { input: f = given }
  call show { input: g = relink.out }
  output { String shown = show.s }
}
task relink { input { File f } command <<< ln ~{f} out.txt >>> output { File out = "out.txt" } }
task show { input { File g } command <<< cat ~{g} >>> output { String s = read_string(stdout()) } }
"""


def test_a_users_file_a_task_outputs_by_hard_link_keeps_its_mode(tmp_path):
    """Issue 24 item 4: an output sharing the user's inode (`ln input out.txt`) was made
    read-only when the next call localized it, and chmod changed the user's own file."""
    wf = tmp_path / "w.wdl"
    wf.write_text(HARD_LINK_OUT)
    given = tmp_path / "mine.txt"
    given.write_text("mine\n")
    given.chmod(0o644)
    out = wdl2sfn("run", str(wf), f"given={given}", "--container", "host",
                  "--dir", str(tmp_path / "runs"))  # fmt: skip
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["w.shown"] == "mine"
    assert given.stat().st_mode & 0o777 == 0o644


def test_a_task_appending_to_the_users_file_never_changes_it(tmp_path):
    """Issue 24 item 4: a hard link is the user's inode, so `echo x >> ~{f}` changed the user's
    own file. The task now gets the run's read-only copy: it fails to write (EACCES) or, as
    root, writes that copy; the user's file keeps its bytes, mode and link count."""
    out, given = run(tmp_path, "--container", "host")
    assert given.read_text() == "mine\n"
    assert given.stat().st_mode & 0o777 == 0o644 and given.stat().st_nlink == 1
    (seen,) = out.run_dir.glob("calls/append_given/inputs/0/mine.txt")
    assert not os.path.samefile(seen, given) and seen.stat().st_mode & 0o222 == 0
    assert out.json["outputs"]["w.tries"][1] == ("appended" if os.geteuid() == 0 else "refused")
