"""The job queues' ARNs reach prepare and collect through the run record, not every call's
payload: init, deployed with them, writes them there once per run."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import sample
from ..integration.helpers import wdl2sfn


def test_init_keeps_the_job_queues_in_the_run_record_and_the_calls_run(tmp_path: Path):
    wdl = sample("hello")
    result = wdl2sfn("run", str(wdl), "-i", str(wdl.parent / "inputs.json"), "--dir", str(tmp_path))
    assert result.code == 0, result.stderr
    record = json.loads((result.run_dir / "run.json").read_text())
    assert set(record["queues"]) == {"cpu", "spot", "gpu"}
    assert all(arn.startswith("arn:") for arn in record["queues"].values())
