"""Real workflows on this machine: tasks asking more than it has run clamped (with a warning),
`--strict-resources` refuses them; `out/` mirrors the outputs' structure with relative links."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..integration.helpers import all_histories, wdl2sfn

BIG = """version 1.1
task big {
  command <<< echo ran >>>
  runtime { cpu: 512  memory: "4000 GiB" }
  output { String out = read_string(stdout()) }
}
"""

NESTED_FILES = """version 1.1
workflow chunks {
  scatter (i in range(2)) {
    scatter (j in range(2)) {
      call piece { input: name = "p~{i}~{j}.txt" }
    }
  }
  output { Array[Array[File]] chunks = piece.f }
}
task piece {
  input { String name }
  command <<< echo ~{name} > ~{name} >>>
  output { File f = name }
}
"""


def test_task_larger_than_the_machine_runs_clamped_with_a_warning(tmp_path):
    wdl = tmp_path / "big.wdl"
    wdl.write_text(BIG)
    out = wdl2sfn("run", str(wdl), "-d", str(tmp_path), "--no-cache")
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["big.out"] == "ran"
    warning = next(ln for ln in out.stderr.splitlines() if ln.startswith("warning:"))
    assert "512 VCPU" in warning and "more than this machine has" in warning


def test_batch_parameters_in_history_stay_the_requested_ones(tmp_path):
    wdl = tmp_path / "big.wdl"
    wdl.write_text(BIG)
    out = wdl2sfn("run", str(wdl), "-d", str(tmp_path), "--no-cache")
    scheduled = [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for h in all_histories(out.run_dir)
        for e in map(json.loads, h.read_text().splitlines())
        if e["type"] == "TaskScheduled"
        and e["taskScheduledEventDetails"]["resourceType"] == "batch"
    ]
    requirements = scheduled[0]["ContainerOverrides"]["ResourceRequirements"]
    assert {"Type": "VCPU", "Value": "512"} in requirements


def test_strict_resources_refuses_a_task_larger_than_the_machine(tmp_path):
    wdl = tmp_path / "big.wdl"
    wdl.write_text(BIG)
    out = wdl2sfn("run", str(wdl), "-d", str(tmp_path), "--no-cache", "--strict-resources")
    assert out.code == 1
    assert "it can never run here" in out.last_line


def test_strict_resources_says_the_limit_once_and_lists_no_logs_of_a_job_that_never_ran(
    tmp_path,
):
    """Issue 24 item 6: the limit was printed three times (a warning, the message, the last
    line) with stdout/stderr/command paths and `(logs: ...)` of a job that never started."""
    wdl = tmp_path / "big.wdl"
    wdl.write_text(BIG)
    out = wdl2sfn("run", str(wdl), "-d", str(tmp_path), "--no-cache", "--strict-resources",
                  "--container", "host")  # fmt: skip
    assert out.code == 1
    assert out.stderr.count("it can never run here") == 1, out.stderr
    assert "it can never run here" in out.last_line
    for log in ("stdout: ", "stderr: ", "command: ", "(logs: "):
        assert log not in out.stderr, out.stderr


def test_out_links_mirror_nested_arrays_with_relative_links(tmp_path):
    wdl = tmp_path / "chunks.wdl"
    wdl.write_text(NESTED_FILES)
    out = wdl2sfn("run", str(wdl), "-d", str(tmp_path))
    assert out.code == 0, out.stderr
    link = out.run_dir / "out" / "chunks" / "1" / "0" / "p10.txt"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.read_text() == "p10.txt\n"
    moved = tmp_path / "moved"
    out.run_dir.rename(moved)
    assert (moved / "out" / "chunks" / "0" / "1" / "p01.txt").read_text() == "p01.txt\n"
    assert sorted(p.name for p in Path(moved / "out" / "chunks").iterdir()) == ["0", "1"]
