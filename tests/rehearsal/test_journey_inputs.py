"""Inputs over the Step Functions payload quota run on AWS too: the CLI puts them in the run
bucket and the execution input carries their key, which the init function reads (its role may
read the run bucket). Quota: "The maximum input or output size for a task, state, or execution
is 256 KiB of data as a UTF-8 encoded string." (AWS Step Functions, Quotas)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wdl2sfn.statemachine.quotas import Quotas

from .conftest import rehearse

QUOTA = Quotas().payload_bytes  # the executor's own 256 KiB payload quota

NAMES_WDL = """version 1.1
workflow names {
  input { Array[String] samples }
  call count { input: n = length(samples), last = samples[length(samples) - 1] }
  output { Int n = count.m  String last = count.name }
}
task count {
  input { Int n  String last }
  command <<< echo ~{n} >>>
  output { Int m = read_int(stdout())  String name = last }
}
"""


@pytest.mark.slow
def test_an_inputs_file_over_256_kib_runs_by_reference(tmp_path: Path) -> None:
    wdl = tmp_path / "wf" / "names.wdl"
    wdl.parent.mkdir()
    wdl.write_text(NAMES_WDL)
    samples = [f"run2024-lane{i % 8}-sample_{i:05d}_R1.fastq.gz" for i in range(9000)]
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"names.samples": samples}))
    assert big.stat().st_size > QUOTA
    rehearsed = rehearse(tmp_path / "r", wdl, "-i", str(big))
    assert rehearsed.returncode == 0, rehearsed.stderr[-3000:]
    assert rehearsed.result["outputs"] == {"names.n": 9000, "names.last": samples[-1]}
    starts = [c for c in rehearsed.calls() if "StartExecution" in json.dumps(c)[:300]]
    assert starts, "no StartExecution recorded"
    assert all(len(json.dumps(c)) < QUOTA // 4 for c in starts)
    assert "sample_00000" not in json.dumps(starts)
