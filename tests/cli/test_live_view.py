"""The live view counts what is true, on a terminal (a pseudo-terminal here): "running" is job
processes running, totals never exceed the scatter's width, nested scatters and cache hits count,
nothing is left running after a failure."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from ..conftest import SAMPLES
from ..integration.helpers import wdl2sfn
from .helpers import FIXTURES, GATED

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


class Terminal:
    """`wdl2sfn` with its stderr on a pseudo-terminal, read as a user would see it."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160"}
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wdl2sfn.cli", *args],
            stdout=subprocess.PIPE,
            stderr=slave,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        os.close(slave)
        self.master = master
        self.text = ""

    def read_until(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text)
            if found:
                return found
            if not self._read():
                break
        raise AssertionError(f"{pattern!r} never shown; the terminal showed:\n{self.text[-3000:]}")

    def _read(self) -> bool:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            return False
        if not chunk:
            return False
        self.text += ANSI.sub("", chunk.decode("utf-8", errors="replace"))
        return True

    def finish(self) -> int:
        while self._read():
            pass
        code = self.proc.wait(timeout=120)
        os.close(self.master)
        return code


def test_live_view_running_is_processes_running_not_jobs_submitted(tmp_path):
    gate = tmp_path / "gate"
    cores = os.cpu_count() or 1  # each job takes every core: one process at a time
    term = Terminal("run", GATED, f"gate={gate}", "n=4", f"cores={cores}", "--dir", str(tmp_path))
    term.read_until(r"1 running, 3 queued")
    term.read_until(r"scatter i in range\(n\)\s+░+\s+0/4\s+shards")
    term.read_until(r"wait\s+░+\s+0/4\s+done 0")
    gate.write_text("")
    assert term.finish() == 0
    assert not re.search(r"\b([2-9]|\d\d+) running", term.text)
    assert "in Batch" not in term.text  # locally the view says "running" (issue 24 item 6)
    assert re.search(r"tasks 4 finished \(cached 0\), 0 running, 0 queued, 0 failed", term.text)


def test_live_view_leaves_nothing_running_after_a_failure(tmp_path):
    term = Terminal("run", str(FIXTURES / "failing_shard.wdl"), "--dir", str(tmp_path))
    assert term.finish() == 3
    final = term.text[term.text.rindex("tasks ") :]
    assert re.match(r"tasks \d+ finished \(cached 0\), 0 running, 0 queued, 1 failed", final)
    assert re.search(r"shard\s+\S+\s+\d+/10\s+done \d+\s+cached 0\s+failed 1\s+running 0", final)


NESTED = """version 1.1
workflow nested {
  scatter (k in range(3)) {
    scatter (j in range(4)) {
      call w { input: x = k * 10 + j }
    }
  }
  call w as single { input: x = 99 }
  output { Array[Array[Int]] all = w.out }
}
task w { input { Int x }  command <<< echo ~{x} >>> output { Int out = read_int(stdout()) } }
"""


def test_summary_counts_nested_scatters_and_cache_hits(tmp_path: Path):
    wdl = tmp_path / "nested.wdl"
    wdl.write_text(NESTED)
    first = wdl2sfn("run", str(wdl), "--dir", str(tmp_path / "runs"))
    assert first.code == 0, first.stderr
    assert re.search(r"tasks 13 finished \(cached 0\), 0 running, 0 queued, 0 failed", first.stderr)
    assert re.search(r"scatter k in range\(3\)\s+█+\s+3/3\s+shards", first.stderr)
    assert re.search(r"scatter j in range\(4\)\s+█+\s+12/12\s+shards", first.stderr)
    assert re.search(r"\bw\s+█+\s+12/12\s+done 12", first.stderr)
    again = wdl2sfn("run", str(wdl), "--dir", str(tmp_path / "runs"))
    assert re.search(r"tasks 13 finished \(cached 13\)", again.stderr)
    assert re.search(r"single\s+done 0\s+cached 1", again.stderr)


def test_summary_counts_a_cache_hit_outside_any_scatter(tmp_path):
    hello = str(SAMPLES / "hello" / "hello.wdl")
    wdl2sfn("run", hello, "who=x", "--dir", str(tmp_path))
    again = wdl2sfn("run", hello, "who=x", "--dir", str(tmp_path))
    assert re.search(r"tasks 1 finished \(cached 1\)", again.stderr)
