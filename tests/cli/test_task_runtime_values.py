"""WDL 1.2's `task` values that change per attempt or come from `requirements` (issue 23, item 4),
through `wdl2sfn run`.

- `task.attempt`: "The value must be `0` the first time the task is executed, and incremented by
  `1` each time the task is retried (if any)" (WDL 1.2, "Runtime Access to Requirements, Hints,
  and Metadata"). The job's script runs the command evaluated for its attempt, by Batch's
  AWS_BATCH_JOB_ATTEMPT ("The first attempt is numbered 1", AWS Batch User Guide, "AWS Batch job
  environment variables"), which the local executor sets as Batch does.
- `task.disks`: "A `Map[String, Int]` with one entry for each disk mount point. The key is the
  mount point and the value is the initial amount of disk space allocated, in bytes"; a disk
  without a mount point is "mounted at the root of the execution directory" (key "/"), sizes
  without units are GiB, and no `disks` is the default "1 GiB".
"""

from __future__ import annotations

import json
from pathlib import Path

from ..integration.helpers import wdl2sfn

GIB = 1024**3

FLAKY = """version 1.2
task flaky {
  command <<<
    echo "attempt ~{task.attempt}"
    test ~{task.attempt} -ge 1
  >>>
  output {
    String said = read_string(stdout())
    Int attempt = task.attempt
  }
  requirements {
    max_retries: 2
  }
}
"""

DISKS = """version 1.2
task disks {
  command <<<
    echo ~{sep(",", keys(task.disks))}
  >>>
  output {
    Map[String, Int] seen = task.disks
    String in_command = read_string(stdout())
  }
  requirements {
    disks: DISKS
  }
}
"""


def run(tmp_path: Path, text: str) -> tuple[int, dict[str, object], str]:
    wdl = tmp_path / "t.wdl"
    wdl.write_text(text)
    out = wdl2sfn("run", str(wdl), "--container", "host", "--dir", str(tmp_path / "runs"))
    outputs = json.loads(out.stdout)["outputs"] if out.code == 0 else {}
    return out.code, outputs, out.stderr


def test_a_retry_sees_task_attempt_one_and_can_succeed_where_attempt_zero_failed(
    tmp_path: Path,
) -> None:
    code, outputs, stderr = run(tmp_path, FLAKY)
    assert code == 0, stderr
    assert outputs == {"flaky.said": "attempt 1", "flaky.attempt": 1}


def test_a_command_that_never_reads_task_attempt_still_sees_its_attempt_in_the_outputs(
    tmp_path: Path,
) -> None:
    text = FLAKY.replace('echo "attempt ~{task.attempt}"', 'echo "$AWS_BATCH_JOB_ATTEMPT"')
    text = text.replace("test ~{task.attempt} -ge 1", 'test "$AWS_BATCH_JOB_ATTEMPT" -ge 3')
    code, outputs, stderr = run(tmp_path, text)
    assert code == 0, stderr
    assert outputs == {"flaky.said": "3", "flaky.attempt": 2}


def test_task_disks_maps_each_mount_point_to_its_bytes(tmp_path: Path) -> None:
    text = DISKS.replace("DISKS", '["3", "/mnt/outputs 2 GiB", "/mnt/tmp 500 MB"]')
    code, outputs, stderr = run(tmp_path, text)
    assert code == 0, stderr
    assert outputs["disks.seen"] == {"/": 3 * GIB, "/mnt/outputs": 2 * GIB, "/mnt/tmp": 500 * 10**6}
    assert outputs["disks.in_command"] == "/,/mnt/outputs,/mnt/tmp"


def test_task_disks_is_the_default_one_gib_at_the_root_without_a_disks_requirement(
    tmp_path: Path,
) -> None:
    code, outputs, stderr = run(tmp_path, DISKS.replace("disks: DISKS", "cpu: 1"))
    assert code == 0, stderr
    assert outputs["disks.seen"] == {"/": GIB}


def test_an_invalid_disks_requirement_fails_the_call_naming_it(tmp_path: Path) -> None:
    code, _, stderr = run(tmp_path, DISKS.replace("DISKS", '"/mnt/a lots"'))
    assert code == 1, stderr
    assert "call disks failed: invalid requirements.disks: '/mnt/a lots'" in stderr, stderr
    assert "internal error" not in stderr
