"""Inputs of any size run (DESIGN invariant 1): a large inputs JSON goes to the run store and
the execution input carries its key, so the history stays small; inputs that are not a JSON
object are refused naming what was given; a BOM (as Windows editors write) is accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wdl2sfn.statemachine.quotas import Quotas

from ..integration.helpers import history, wdl2sfn

# Step Functions quotas: "The maximum input or output size for a task, state, or execution is
# 256 KiB of data as a UTF-8 encoded string." 9,000 FASTQ paths are over it.
QUOTA = Quotas().payload_bytes  # the executor's own 256 KiB payload quota

COUNT_WDL = """version 1.1
workflow many {
  input { Array[File] fastqs }
  call count { input: n = length(fastqs), last = fastqs[length(fastqs) - 1] }
  output { Int n = count.m  String last = count.name }
}
task count {
  input { Int n  File last }
  command <<< echo ~{n} >>>
  output { Int m = read_int(stdout())  String name = basename(last) }
}
"""

STORE = {".wdl2sfn", "_LAST"}


def run_folders(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.name not in STORE] if root.exists() else []


def test_an_inputs_json_over_the_payload_quota_runs_from_the_run_store(tmp_path: Path) -> None:
    data = tmp_path / "fastq"
    data.mkdir()
    paths = []
    for i in range(9000):
        (data / f"sample_{i:05d}_R1.fastq.gz").touch()
        paths.append(str(data / f"sample_{i:05d}_R1.fastq.gz"))
    inputs = tmp_path / "big.json"
    inputs.write_text(json.dumps({"many.fastqs": paths}))
    assert inputs.stat().st_size > 300_000
    (tmp_path / "many.wdl").write_text(COUNT_WDL)
    root = tmp_path / "runs"
    out = wdl2sfn("run", str(tmp_path / "many.wdl"), "-i", str(inputs), "-d", str(root))
    assert out.code == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["outputs"] == {"many.n": 9000, "many.last": "sample_08999_R1.fastq.gz"}
    run_dir = Path(result["dir"])
    started = history(run_dir)[0]
    assert started["type"] == "ExecutionStarted"
    assert len(json.dumps(started)) < QUOTA // 16  # a key, not the inputs
    execution_input = started["executionStartedEventDetails"]["input"]
    assert "inputs_ref" in execution_input and "sample_00000" not in execution_input
    assert json.loads((run_dir / "inputs.json").read_text())["many.fastqs"] == paths
    listed = json.loads(wdl2sfn("list", "-d", str(root)).stdout)
    assert [r["run"] for r in listed] == [run_dir.name]
    assert run_folders(root) == [run_dir]


def test_a_run_that_fails_before_its_execution_starts_leaves_no_stub_folder(
    tmp_path: Path,
) -> None:
    """An execution input over the quota for another reason (3,000 long --tag values) still
    fails, but leaves no run folder that `list` cannot show."""
    (tmp_path / "many.wdl").write_text(COUNT_WDL)
    (tmp_path / "a.txt").touch()
    root = tmp_path / "runs"
    tags = [a for i in range(3000) for a in ("--tag", f"t{i}={'x' * 100}")]
    out = wdl2sfn("run", str(tmp_path / "many.wdl"), f"fastqs={tmp_path / 'a.txt'}", *tags,
                  "-d", str(root))  # fmt: skip
    assert out.code != 0
    assert run_folders(root) == []


@pytest.mark.parametrize(
    ("given", "named"),
    [("[1,2]", "not an array of 2"), ("x: 1", "not text that is not JSON"), ("7", "a number 7")],
)
def test_inputs_that_are_not_a_json_object_are_a_usage_error(
    tmp_path: Path, given: str, named: str
) -> None:
    (tmp_path / "many.wdl").write_text(COUNT_WDL)
    out = wdl2sfn("run", str(tmp_path / "many.wdl"), "-i", given, "-d", str(tmp_path / "r"))
    assert out.code == 2, out.stderr
    assert "inputs must be a JSON object" in out.last_line
    assert repr(given) in out.last_line and named in out.last_line
    assert run_folders(tmp_path / "r") == []


def test_an_inputs_array_in_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "many.wdl").write_text(COUNT_WDL)
    (tmp_path / "arr.json").write_text("[1, 2]")
    out = wdl2sfn("run", str(tmp_path / "many.wdl"), "-i", str(tmp_path / "arr.json"))
    assert out.code == 2
    assert out.last_line.endswith("inputs must be a JSON object, not an array of 2")


def test_an_inputs_file_with_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "many.wdl").write_text(COUNT_WDL)
    (tmp_path / "a.txt").touch()
    inputs = tmp_path / "bom.json"
    inputs.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"many.fastqs": [str(tmp_path / "a.txt")]}).encode()
    )
    out = wdl2sfn("run", str(tmp_path / "many.wdl"), "-i", str(inputs), "-d", str(tmp_path / "r"))
    assert out.code == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["outputs"] == {"many.n": 1, "many.last": "a.txt"}
