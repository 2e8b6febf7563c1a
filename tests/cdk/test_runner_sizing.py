"""FSx runner sizing (issue 20 item 10): with FSx every run-time step of every shard is a 1-vCPU
runner job, so the runner compute environment's MaxvCpus is how many shards' steps run at once.
`runner_max_vcpus=auto` (the default) sizes it from the compiled scatter concurrency."""

from __future__ import annotations

from typing import Any

import pytest
from wdl2sfn_cdk.config import load_config
from wdl2sfn_cdk.sizing import RUNNER_AUTO_MAX_VCPUS, map_concurrency, runner_vcpus

from .conftest import REPO, VARIANTS, Synth, compile_for_tests

WIDE = REPO / "sample_wdl" / "wide_scatter" / "wide_scatter.wdl"


def runner_max_vcpus(template: dict[str, Any]) -> int:
    (env,) = [
        r for k, r in template["Resources"].items()
        if r["Type"] == "AWS::Batch::ComputeEnvironment" and k.startswith("RunnerEnvironment")
    ]  # fmt: skip
    return int(env["Properties"]["ComputeResources"]["MaxvCpus"])


@pytest.fixture(scope="module")
def fsx_wide(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from . import conftest

    VARIANTS["fsx-wide"] = {**VARIANTS["fsx"], "workflows": str(WIDE)}
    try:
        return conftest.synthesize("fsx-wide", tmp_path_factory)
    finally:
        del VARIANTS["fsx-wide"]


def test_an_800_wide_scatter_sizes_the_fsx_runner_environment_to_800_vcpus(
    fsx_wide: Synth,
) -> None:
    # the compiled wide scatter: a Distributed Map of 20 children, each an inline Map of 40
    assert map_concurrency(compile_for_tests(str(WIDE), "fsx").definition) == 800
    assert runner_max_vcpus(fsx_wide.template) == 800


def test_a_workflow_without_scatter_keeps_the_fsx_runner_at_16_vcpus(fsx: Synth) -> None:
    assert runner_max_vcpus(fsx.template) == 16


def test_auto_is_bounded_and_an_explicit_value_wins() -> None:
    assert runner_vcpus([640_000]) == RUNNER_AUTO_MAX_VCPUS
    assert load_config({"runner_max_vcpus": "64"}).runner_max_vcpus == 64
    assert load_config({}).runner_max_vcpus is None
