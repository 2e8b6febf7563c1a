"""Where prepare finds the job queues' ARNs: never in every call's payload. The stack's Lambda
functions have them in their environment (WDL2SFN_QUEUES, Settings.queues), so a machine
compiled for EFS carries none; FSx runner jobs get them from init's event, once per run, in the
run record. An event's own (older machines) wins over both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wdl2sfn.task_runner.batch_params import BatchParamError, select_queue
from wdl2sfn.task_runner.handlers import Settings
from wdl2sfn.task_runner.store import RunStore

from ..conftest import sample
from ..integration.helpers import wdl2sfn


def test_an_efs_run_takes_the_queues_from_the_functions_settings(tmp_path: Path):
    wdl = sample("hello")
    result = wdl2sfn("run", str(wdl), "-i", str(wdl.parent / "inputs.json"), "--dir", str(tmp_path))
    assert result.code == 0, result.stderr
    assert "queues" not in json.loads((result.run_dir / "run.json").read_text())


def test_an_fsx_run_keeps_the_queues_init_was_given_in_the_run_record(tmp_path: Path):
    wdl = sample("hello")
    args = ("-i", str(wdl.parent / "inputs.json"), "--dir", str(tmp_path), "--filesystem", "fsx")
    result = wdl2sfn("run", str(wdl), *args)
    assert result.code == 0, result.stderr
    record = json.loads((result.run_dir / "run.json").read_text())
    assert set(record["queues"]) == {"cpu", "spot", "gpu"}
    assert all(arn.startswith("arn:") for arn in record["queues"].values())


def test_settings_read_the_stacks_queues_and_runner_from_the_environment(monkeypatch, tmp_path):
    queues = {"cpu": "arn:q/cpu", "spot": "arn:q/spot", "gpu": "arn:q/gpu"}
    monkeypatch.setenv("WDL2SFN_STORE", str(tmp_path))
    monkeypatch.setenv("WDL2SFN_QUEUES", json.dumps(queues))
    monkeypatch.setenv("WDL2SFN_RUNNER", json.dumps({"queue": "arn:q/r", "definition": "arn:d"}))
    settings = Settings.from_env()
    assert settings.queues == queues
    assert settings.runner == {"queue": "arn:q/r", "definition": "arn:d"}
    assert isinstance(settings.store, RunStore)


def test_no_queue_anywhere_says_to_update_the_stack():
    with pytest.raises(BatchParamError, match="update the stack"):
        select_queue({}, gpus=0, preemptible=0)
