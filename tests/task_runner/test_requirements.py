"""WDL 1.2 `requirements` and `hints` become the Batch job's resources (issue 23, item 4).

A 1.2 task's `requirements` section is what `runtime` was: `cpu`, `memory` and `gpu` become the
job's `ResourceRequirements` (VCPU, MEMORY in MiB, GPU) and a GPU task goes to the GPU queue;
`max_retries` and `return_codes` are the 1.1 `maxRetries`/`returnCodes`. `fpga` cannot be
provided: AWS Batch's ResourceRequirement "type ... Valid Values: GPU | VCPU | MEMORY"
(https://docs.aws.amazon.com/batch/latest/APIReference/API_ResourceRequirement.html), and WDL 1.2
("Hardware Accelerators") says "The execution engine must guarantee that at least one of each of
the request types of accelerators is available or immediately fail the task prior to
instantiating the command". `hints` (`max_cpu`, `max_memory`...) are advisory ("Task Hints"):
miniwdl 1.16 drops the section, so they change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import WDL

from wdl2sfn.task_runner.errors import WdlRuntimeError
from wdl2sfn.task_runner.task import prepare_task

from .test_task_run import QUEUES, FakeJobDefinitions, load_task, make_ctx, run_call

GPU_TASK = """
task t {
  input { Int n = 3 }
  command <<< true >>>
  requirements {
    cpu: n
    memory: "6 GiB"
    gpu: true
    max_retries: 2
    return_codes: [0, 3]
    disks: "20 GiB"
  }
  hints {
    max_cpu: 8
    max_memory: "16 GiB"
  }
}
"""


def test_requirements_become_the_jobs_resources_queue_and_retries(tmp_path: Path) -> None:
    jd = FakeJobDefinitions()
    job = prepare_task(
        load_task(tmp_path, GPU_TASK, "1.2"),
        WDL.Env.Bindings(),
        make_ctx(tmp_path, job_definitions=jd),
    ).job
    assert job is not None
    assert job["overrides"]["ResourceRequirements"] == [
        {"Type": "VCPU", "Value": "3"},
        {"Type": "MEMORY", "Value": "6144"},
        {"Type": "GPU", "Value": "1"},
    ]  # hints' max_cpu 8 / max_memory 16 GiB change nothing
    assert job["queue"] == QUEUES["gpu"]
    assert jd.defs[job["definition"]]["retryStrategy"]["attempts"] == 3
    assert 'case "$rc" in 0|3) exit 0' in job["overrides"]["Command"][2]


@pytest.mark.parametrize("fpga", ["true", "2"])
def test_an_fpga_requirement_is_refused_naming_the_call(tmp_path: Path, fpga: str) -> None:
    task = load_task(
        tmp_path, f"task t {{ command <<< true >>> requirements {{ fpga: {fpga} }} }}", "1.2"
    )
    with pytest.raises(WdlRuntimeError, match=r"call t: requirements\.fpga: .*no FPGA"):
        prepare_task(task, WDL.Env.Bindings(), make_ctx(tmp_path))
    assert not (make_ctx(tmp_path).call_dir / "job.json").exists()


def test_fpga_false_is_no_requirement(tmp_path: Path) -> None:
    task = load_task(
        tmp_path, "task t { command <<< true >>> requirements { fpga: false } }", "1.2"
    )
    assert prepare_task(task, WDL.Env.Bindings(), make_ctx(tmp_path)).job is not None


def test_task_gpu_has_one_entry_per_allocated_gpu(tmp_path: Path) -> None:
    """WDL 1.2 "Runtime access to requirements, hints, and metadata": `gpu` is "An
    `Array[String]` with one specification per allocated GPU"; empty when none."""
    task = load_task(
        tmp_path,
        """
task t {
  command <<< echo ~{length(task.gpu)} ~{sep(",", task.gpu)} >>>
  requirements { gpu: true }
  output { String out = read_string(stdout()) }
}
""",
        "1.2",
    )
    out, _ = run_call(task, {}, make_ctx(tmp_path))
    assert out == {"out": "1 AWS Batch GPU 0"}
