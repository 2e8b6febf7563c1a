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


def _map(width: int, *states: dict[str, Any]) -> dict[str, Any]:
    """A Map state of MaxConcurrency `width` whose shards run `states` one after the other."""
    return {"Type": "Map", "MaxConcurrency": width, "ItemProcessor": _graph(*states)}


def _graph(*states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "s0", "States": {f"s{i}": s for i, s in enumerate(states)}}


TASK: dict[str, Any] = {"Type": "Task"}


def test_the_branches_of_a_parallel_run_at_once_so_their_widths_add_up() -> None:
    """Two Maps of one split scatter side by side (fission): 20 x 40 + 20 x 40 shards."""
    parallel = {"Type": "Parallel", "Branches": [_graph(_map(20, _map(40, TASK))),
                                                 _graph(_map(20, _map(40, TASK)))]}  # fmt: skip
    assert map_concurrency(_graph(parallel)) == 1600


def test_the_states_of_one_graph_run_one_after_the_other_so_the_widest_counts() -> None:
    assert map_concurrency(_graph(_map(300, TASK), _map(20, _map(40, TASK)), TASK)) == 800


def test_a_parallel_inside_a_map_runs_its_branches_in_every_shard() -> None:
    parallel = {"Type": "Parallel", "Branches": [_graph(TASK), _graph(_map(5, TASK), TASK)]}
    assert map_concurrency(_graph(_map(10, parallel))) == 10 * (1 + 5)


def _start(machine: str) -> dict[str, Any]:
    """A Task starting child machine `machine` (a part or a subworkflow) and waiting for it."""
    arn = "${StateMachineArn_" + machine + "}"
    resource = "arn:aws:states:::states:startExecution.sync:2"
    return {"Type": "Task", "Resource": resource, "Parameters": {"StateMachineArn": arn}}


def test_a_child_machine_counts_where_its_parent_starts_it() -> None:
    """A part moved to a child machine beside a Map, and a subworkflow machine per shard."""
    child = _graph(_map(20, _map(40, TASK)))
    beside = {"Type": "Parallel", "Branches": [_graph(_start("part")), _graph(_map(10, TASK))]}
    machines = {"part": child, "sub": _graph(_map(4, TASK))}
    assert map_concurrency(_graph(beside), machines) == 800 + 10
    assert map_concurrency(_graph(_map(10, _start("sub"))), machines) == 40
