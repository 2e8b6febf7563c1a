"""A sample of the WDL 1.2.1 specification's examples on the AWS backend under the rehearsal,
against the same examples run locally (issue 23, item 4): each example has the same outcome.

The sample covers what 1.2 changes for a task on Batch: `requirements`/`hints`, `return_codes`
(all, one, a failing code), the `task` runtime values (`test_runtime_info_task`: `task.memory`,
`task.return_code` with `return_codes: [0, 1]`), `env` declarations, `Directory` inputs
(`task_inputs_task`) and outputs (`primitive_literals`) and `parameter_meta`. Each runs through bench/conformance_suites.py's `aws` engine: `wdl2sfn rehearse
--serve --container host`, each example deployed as its own state machine, run through the
stack's Lambda functions and Batch job definitions, its outputs fetched back from S3. The whole
suite's comparison is in docs/conformance.md ("WDL 1.2.1 on the AWS backend").
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from ..conftest import SHARED
from .test_spec_suites import suites_module

CONFORMANCE = SHARED / "conformance"
SAMPLE = [
    "all_return_codes_task",
    "single_return_code_task",
    "multi_return_code_fail_task",
    "ex_paramter_meta_task",
    "test_hints_task",
    "input_hint_task",
    "environment_variable_should_echo",
    "primitive_literals",
    "task_inputs_task",
    "test_runtime_info_task",
]
#: Its commands only echo and exit 1; the config says not host-runnable for its `ubuntu:latest`
#: image, which the host run replaces with the host in both engines alike.
ON_THE_HOST = "test_runtime_info_task"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, str]]]:
    """engine (wdl2sfn, aws) -> example -> (status, why)."""
    if not CONFORMANCE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CONFORMANCE} is missing")
        pytest.skip(f"{CONFORMANCE} is not beside the project")
    runner = suites_module()
    tests = runner.extract("1.2.1", tmp_path_factory.mktemp("spec-1.2.1"))
    config = tests / ON_THE_HOST / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "host_runnable": True}))
    local = runner.run_suite(tests, runner.WDL2SFN_ENGINE, jobs=2, only=SAMPLE)
    with runner.served_account(Path(tempfile.mkdtemp(prefix="served-"))):
        aws = runner.run_suite(tests, runner.AWS_ENGINE, jobs=2, only=SAMPLE)
    return {"wdl2sfn": local, "aws": aws}


def test_every_sampled_example_ran_in_both(outcomes: dict[str, dict[str, tuple[str, str]]]):
    assert sorted(outcomes["wdl2sfn"]) == sorted(SAMPLE)
    assert sorted(outcomes["aws"]) == sorted(SAMPLE)


def test_each_example_has_the_same_outcome_on_aws_as_locally(
    outcomes: dict[str, dict[str, tuple[str, str]]],
):
    local = {t: s for t, (s, _) in outcomes["wdl2sfn"].items()}
    aws = {t: s for t, (s, _) in outcomes["aws"].items()}
    assert aws == local, outcomes["aws"]


def test_the_task_values_and_return_codes_examples_pass_on_aws(
    outcomes: dict[str, dict[str, tuple[str, str]]],
):
    passing = ["all_return_codes_task", "single_return_code_task", "test_runtime_info_task"]
    assert {t: outcomes["aws"][t] for t in passing if outcomes["aws"][t][0] != "pass"} == {}
