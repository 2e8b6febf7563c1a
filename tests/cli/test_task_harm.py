"""Issue 24, item 6: a task that harms its own call folder or leaves processes behind fails (or
ends) cleanly, named, never with a Python error or an internal error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT
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


FILL = """version 1.0
task fill { command <<< head -c 3000000 /dev/zero > big.bin >>> output { File o = "big.bin" } }
workflow bw { call fill output { File o = fill.o } }
"""


def test_a_full_disk_names_the_call_and_the_path_never_an_internal_error(tmp_path: Path) -> None:
    """The run folder on a 2 MiB tmpfs (a private mount namespace: `unshare -r -m`) and a task
    writing 3 MB: the run used to hang on the history it could not write, then end in an
    internal error. It ends at once, naming the call's state and the file that did not fit."""
    wdl = tmp_path / "fill.wdl"
    wdl.write_text(FILL)
    small = tmp_path / "small"
    small.mkdir()
    mount = 'mount -t tmpfs -o size=2m tmpfs "$1" && shift && exec "$@"'
    cli = [sys.executable, "-m", "wdl2sfn.cli", "run", str(wdl), "--container", "host"]
    done = subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", mount, "_", str(small), *cli, "--dir", str(small)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode not in (0, 2), done.stderr
    assert "internal error" not in done.stderr, done.stderr[-2000:]
    assert "call fill" in last and "No space left on device" in last, last
    assert f"{small}/" in last, last  # the file that could not be written
