"""Issue 24, item 6: a task that harms its own call folder or leaves processes behind fails (or
ends) cleanly, named, never with a Python error or an internal error."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ..integration.helpers import wdl2sfn

RM_PARENT = """version 1.0
task t { command <<< echo hi > out.txt; rm -rf ../* >>> output { File o = "out.txt" } }
workflow rmw { call t output { File o = t.o } }
"""


def test_a_task_deleting_its_call_folder_fails_naming_what_is_missing(tmp_path: Path) -> None:
    wdl = tmp_path / "rm.wdl"
    wdl.write_text(RM_PARENT)
    out = wdl2sfn("run", str(wdl), "--dir", str(tmp_path / "runs"), "--container", "host")
    assert out.code != 0
    assert "FileNotFoundError" not in out.stderr and "internal error" not in out.stderr
    assert "call t" in out.last_line and "runtime.json" in out.last_line, out.last_line
    assert "deleted" in out.last_line


DAEMON = """version 1.0
task t {
  command <<<
    setsid nohup sleep 1000 > /dev/null 2>&1 &
    echo $! > pid.txt
  >>>
  output { Int pid = read_int("pid.txt") }
}
workflow dw { call t output { Int pid = t.pid } }
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended, it waits only for its parent to reap it


def test_a_daemon_a_task_leaves_behind_is_killed_when_the_job_ends(tmp_path: Path) -> None:
    """`setsid` leaves the job's process group, so killing the group missed it: the job's
    processes carry a marker in their environment, and every marked one is killed at its end."""
    wdl = tmp_path / "d.wdl"
    wdl.write_text(DAEMON)
    out = wdl2sfn("run", str(wdl), "--dir", str(tmp_path / "runs"), "--container", "host")
    assert out.code == 0, out.stderr
    pid = out.json["outputs"]["dw.pid"]
    try:
        assert not _alive(pid), f"pid {pid} (sleep 1000) outlived its job"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
