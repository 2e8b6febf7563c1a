"""Every state name of every sample and generated long-name workflow, in both modes: no `#N`
counter, no word cut by an ellipsis, no role cut, unique, within 80 characters."""

from __future__ import annotations

from pathlib import Path

import pytest

from wdl2sfn.compiler import compile_workflow

from ..conftest import SAMPLES
from .name_shapes import SHAPES, name_problems, words
from .test_compile import all_states

MODES = ("efs", "fsx")


def machine_names(path: Path, mode: str) -> list[list[str]]:
    """The state names of each machine `path` compiles to (subworkflows inlined and as
    machines)."""
    found = []
    for subworkflows in ("inline", "machine"):
        compiled = compile_workflow(str(path), filesystem=mode, subworkflows=subworkflows)
        for definition in [compiled.definition] + [
            m.definition for m in compiled.all_machines().values()
        ]:
            found.append([n for n, _ in all_states(definition["States"])])
    return found


def problems_of(path: Path, mode: str) -> list[str]:
    vocabulary = set().union(*(words(p.read_text()) for p in path.parent.glob("*.wdl")))
    return [p for names in machine_names(path, mode) for p in name_problems(names, vocabulary)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_generated_long_names_read_whole_and_unique(tmp_path: Path, shape: str, mode: str):
    files = SHAPES[shape]()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert problems_of(tmp_path / next(iter(files)), mode) == []


@pytest.mark.parametrize("mode", MODES)
def test_every_sample_s_names_read_whole_and_unique(mode: str):
    for folder in sorted(SAMPLES.iterdir()):
        assert problems_of(folder / f"{folder.name}.wdl", mode) == [], folder.name


def test_two_scatters_calling_one_subworkflow_keep_the_alias_that_differs(tmp_path: Path):
    files = SHAPES["two scatters, one subworkflow"]()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    names = machine_names(tmp_path / "twice.wdl", "efs")[0]  # subworkflows inlined
    calls = {n for n in names if n.startswith("call ") and ":" not in n and "Again" not in n}
    calls = {n for n in calls if not n.endswith(".gate")}
    assert len(calls) == 2
    assert {"tumor" in n for n in calls} == {True, False}
    assert all(n.endswith(".CollectRawWgsMetricsOnTheWholeGenomeIntervals") for n in calls)


def test_the_checks_catch_a_counter_a_cut_word_and_a_cut_role():
    vocabulary = words("CollectReadgroupBamQualityMetrics samplesheets")
    assert name_problems(["call CollectReadgrou…QualityMetrics"], vocabulary)
    assert name_problems(["call samplesh…samplesheets"], vocabulary)
    assert name_problems(["call a #2"], vocabulary)
    assert name_problems(["in parallel: call a, branch 1: fail…"], vocabulary)
    assert name_problems(["call a", "call a"], vocabulary)
    assert not name_problems(["call Collect…QualityMetrics: run"], vocabulary)
