"""`requirements { fpga: true }` fails the call clearly (issue 23, item 4): AWS Batch reserves
no FPGA (ResourceRequirement "Valid Values: GPU | VCPU | MEMORY",
https://docs.aws.amazon.com/batch/latest/APIReference/API_ResourceRequirement.html), and WDL 1.2
("Hardware Accelerators") has the engine fail such a task before its command runs. The local run
fails the same way the AWS one does: prepare is the same code in both."""

from __future__ import annotations

from pathlib import Path

from ..integration.helpers import wdl2sfn

FPGA = """version 1.2
task t {
  command <<<
    echo ran > ran.txt
  >>>
  requirements {
    fpga: true
  }
}
"""


def test_run_refuses_an_fpga_task_naming_the_call_and_never_runs_it(tmp_path: Path) -> None:
    wdl = tmp_path / "fpga.wdl"
    wdl.write_text(FPGA)
    out = wdl2sfn("run", str(wdl), "--container", "host", "--dir", str(tmp_path / "runs"))
    assert out.code == 1, out.stderr
    assert "call t failed: requirements.fpga: true asks for an FPGA" in out.stderr, out.stderr
    assert "internal error" not in out.stderr
    assert not list((tmp_path / "runs").glob("*/calls/t/work/ran.txt"))
