"""Under the rehearsal (the AWS stack's wiring: Batch's own retry strategy, the runner Lambda's
prepare and collect), a WDL 1.2 retry sees `task.attempt` 1 and succeeds where attempt 0 failed,
and `task.disks` is the `disks` requirement, as locally (tests/cli/test_task_runtime_values.py;
issue 23, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..cli.test_task_runtime_values import FLAKY, GIB
from .conftest import rehearse

pytestmark = pytest.mark.slow


def test_a_retry_on_batch_sees_task_attempt_one_and_task_disks_as_asked(tmp_path: Path) -> None:
    wdl = tmp_path / "wf" / "flaky.wdl"
    wdl.parent.mkdir()
    text = FLAKY.replace(
        "Int attempt = task.attempt",
        "Int attempt = task.attempt\n    Map[String, Int] disks = task.disks",
    )
    wdl.write_text(
        text.replace("max_retries: 2", 'max_retries: 2\n    disks: "/mnt/outputs 2 GiB"')
    )
    done = rehearse(tmp_path / "store", wdl)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.result["outputs"] == {
        "flaky.said": "attempt 1",
        "flaky.attempt": 1,
        "flaky.disks": {"/mnt/outputs": 2 * GIB},
    }
