"""A failure ends like any failed call, whatever wraps it: call, shard index, exit status, last
stderr line and log folder on stderr's last line; the error JSON names the call and shard; the
run's exit status is the task's (as miniwdl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import ROOT
from .helpers import wdl2sfn

FIXTURES = ROOT / "tests" / "fixtures"


def test_failed_scatter_shard_names_call_shard_exit_status_and_stderr(tmp_path):
    out = wdl2sfn("run", str(FIXTURES / "failing_shard.wdl"), "--dir", str(tmp_path))
    assert out.code == 3
    run_dir = Path(out.json["dir"])
    assert out.last_line == (
        "wdl2sfn: call shard (shard 7) failed with exit status 3: shard seven broke: bad thing "
        f"(logs: {run_dir / 'calls' / 'shard' / 'shard-7'})"
    )
    assert "ExceedToleratedFailureThreshold" not in out.stdout + out.stderr


def test_failed_scatter_shard_error_json_names_call_and_shard(tmp_path):
    out = wdl2sfn("run", str(FIXTURES / "failing_shard.wdl"), "--dir", str(tmp_path))
    error = out.json
    assert (error["wdl2sfn_error"], error["call"], error["shard"], error["exit_status"]) == (
        "WdlTaskFailed",
        "shard",
        [7],
        3,
    )
    assert error["cause"]["run"] == "call-shard-7"  # miniwdl's name of the failed call's run
    saved = json.loads((Path(error["dir"]) / "error.json").read_text())
    assert saved["call"] == "shard" and saved["shard"] == [7]


@pytest.mark.parametrize("subworkflows", ["inline", "machine"])
def test_failed_shard_inside_scattered_subworkflow_is_named(tmp_path, subworkflows):
    out = wdl2sfn(
        "run",
        str(FIXTURES / "failing_scattered_sub.wdl"),
        "--subworkflows",
        subworkflows,
        "--dir",
        str(tmp_path),
    )
    assert out.code == 5
    error = out.json
    assert (error["call"], error["shard"], error["exit_status"]) == ("sub.work", [2, 1], 5)
    assert out.last_line.startswith(
        "wdl2sfn: call sub.work (shard 2, 1) failed with exit status 5: inner broke at 2,1"
    )
    assert "Traceback" not in out.stderr


def test_failed_child_machine_reports_its_call_not_describe_execution_json(tmp_path):
    wdl = tmp_path / "outer.wdl"
    wdl.write_text(
        'version 1.1\nimport "'
        + str(FIXTURES / "failing_inner.wdl")
        + '" as inner\nworkflow outer { call inner.failing_inner as sub { input: k = 2 } }\n'
    )
    out = wdl2sfn("run", str(wdl), "--subworkflows", "machine", "--dir", str(tmp_path / "runs"))
    assert out.code == 5
    assert (out.json["call"], out.json["shard"]) == ("sub.work", [1])
    assert "ExecutionArn" not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


OUTPUT_ERROR_IN_SHARD = """version 1.1
workflow shapes {
  scatter (i in range(4)) {
    call outerr { input: i = i }
  }
}
task outerr {
  input { Int i }
  command <<< echo hi > ok.txt >>>
  output { File f = if i == 2 then "nope.txt" else "ok.txt" }
}
"""


def test_output_error_in_a_shard_names_call_and_shard(tmp_path):
    wdl = tmp_path / "shapes.wdl"
    wdl.write_text(OUTPUT_ERROR_IN_SHARD)
    out = wdl2sfn("run", str(wdl), "--dir", str(tmp_path / "runs"))
    assert out.code == 1
    assert (out.json["call"], out.json["shard"]) == ("outerr", [2])
    assert out.last_line.startswith("wdl2sfn: call outerr (shard 2) failed: ")
    assert "nope.txt" in out.last_line
