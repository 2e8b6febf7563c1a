"""Generated workflows with long names, and the checks a console reader's names must pass.

The real workflows that showed `#N` counters and cut words (warp, viral-pipelines, ...) are not
in this repository; these shapes reproduce what went wrong there: two scatters calling one
subworkflow under long aliases, long call names sharing a prefix (in parallel groups, so their
Parallel states are named by them), deep subworkflow paths, alike long scatters. Used by
`tests/compiler/test_name_shapes.py` and `bench/names.py`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
ROLES = (
    ": cached?", ": run", ": collect", ": done", ": wait", ": release", ": taken?", ": shards",
    ": batch", ": failed", ": retry", ": result", ": read",
)  # fmt: skip
TASK = """
task t {
  input { Int i = 0 }
  command <<< echo ~{i} >>>
  output { Int out = read_int(stdout()) }
}
"""
METRICS = "CollectRawWgsMetricsOnTheWholeGenomeIntervals"


def words(text: str) -> set[str]:
    """The words of a text: identifier parts split at separators and capitals."""
    return set(WORD.findall(text))


def name_problems(names: Iterable[str], vocabulary: set[str]) -> list[str]:
    """What is wrong with a machine's state names: a counter, over 80 characters, a duplicate,
    an ellipsis beside part of a word, a name ending in an ellipsis (a cut role)."""
    names = list(names)
    problems = [f"duplicate: {n}" for n, k in Counter(names).items() if k > 1]
    for name in names:
        if re.search(r"#\d", name):
            problems.append(f"counter: {name}")
        if len(name) > 80:
            problems.append(f"over 80: {name}")
        if name.endswith("…"):
            problems.append(f"cut at the end: {name}")
        for before, after in zip(name.split("…"), name.split("…")[1:], strict=False):
            left = WORD.findall(before)[-1:] if before[-1:].isalnum() else []
            right = WORD.findall(after)[:1] if after[:1].isalnum() else []
            if any(w not in vocabulary for w in left + right):
                problems.append(f"word cut: {name}")
    return problems


def two_scatters_one_subworkflow(
    alias: str = "CollectWgsMetricsOnTheWholeGenome",
) -> dict[str, str]:
    """Two scatters calling the same subworkflow under long aliases that differ at their end
    (so its `if` is inlined twice, at one place)."""
    sub = (
        "version 1.1\nworkflow metrics {\n  input { Int i }\n"
        f"  call t as {METRICS} {{ input: i = i }}\n"
        f"  call t as {METRICS}Again {{ input: i = {METRICS}.out }}\n"
        "  if (i > 1) {\n    call t as gate { input: i = i }\n  }\n"
        f"  output {{ Int out = {METRICS}Again.out }}\n}}\n{TASK}"
    )
    main = (
        'version 1.1\nimport "metrics.wdl" as m\nworkflow twice {\n'
        "  input { Array[Int] tumor_samples = [1, 2]\n    Array[Int] normal_samples = [3] }\n"
        f"  scatter (tumor in tumor_samples) {{\n    call m.metrics as {alias}_tumor {{ input: i = tumor }}\n  }}\n"
        f"  scatter (normal in normal_samples) {{\n    call m.metrics as {alias}_normal {{ input: i = normal }}\n  }}\n"
        "}\n"
    )  # fmt: skip
    return {"twice.wdl": main, "metrics.wdl": sub}


def shared_prefixes(width: int = 6) -> dict[str, str]:
    """Long call names sharing most of their words, in two parallel groups and a chain."""
    stem = "AggregatedBamQualityControlCollectReadgroupBamQualityMetrics"
    first = [f"{stem}ForSample{k}" for k in range(width)]
    lines = [f"  call t as {n} {{ input: i = {k} }}" for k, n in enumerate(first)]
    total = " + ".join(f"{n}.out" for n in first)
    lines.append(f"  call t as {stem}Join {{ input: i = {total} }}")
    lines += [
        f"  call t as {stem}AfterJoinForSample{k} {{ input: i = {stem}Join.out }}"
        for k in range(width)
    ]
    body = "\n".join(lines)
    return {"prefixes.wdl": f"version 1.1\nworkflow prefixes {{\n{body}\n}}\n{TASK}"}


def deep_paths() -> dict[str, str]:
    """A subworkflow path three aliases deep, each alias long, called twice."""
    inner = (
        f"version 1.1\nworkflow inner {{\n  call t as {METRICS}\n"
        f"  output {{ Int out = {METRICS}.out }}\n}}\n{TASK}"
    )
    middle = (
        'version 1.1\nimport "inner.wdl"\nworkflow middle {\n'
        "  call inner.inner as samplesheet_preparation_for_the_whole_cohort\n"
        "  output { Int out = samplesheet_preparation_for_the_whole_cohort.out }\n}\n"
    )
    top = (
        'version 1.1\nimport "middle.wdl"\nworkflow deep {\n'
        "  call middle.middle as prepare_the_samplesheets_of_the_first_batch\n"
        "  call middle.middle as prepare_the_samplesheets_of_the_second_batch\n}\n"
    )
    return {"deep.wdl": top, "middle.wdl": middle, "inner.wdl": inner}


def alike_scatters() -> dict[str, str]:
    """Scatters over long collections differing only at their end, and an if beside them."""
    collection = "CreateSequenceGroupingTSV.sequence_grouping_for_the_base_recalibration"
    text = (
        "version 1.1\nworkflow alike {\n  call groups as CreateSequenceGroupingTSV\n"
        f"  scatter (subgroup in {collection}) {{\n    call t as recalibrate {{ input: i = length(subgroup) }}\n  }}\n"
        f"  scatter (subgroup in {collection}_with_unmapped) {{\n    call t as apply {{ input: i = length(subgroup) }}\n  }}\n"
        f"  scatter (subgroup in {collection}_with_unmapped) {{\n    call t as gather {{ input: i = length(subgroup) }}\n  }}\n"
        "}\ntask groups {\n  command <<< printf 'a\\n' >>>\n  output {\n"
        "    Array[Array[String]] sequence_grouping_for_the_base_recalibration = read_tsv(stdout())\n"
        "    Array[Array[String]] sequence_grouping_for_the_base_recalibration_with_unmapped = read_tsv(stdout())\n"
        f"  }}\n}}\n{TASK}"
    )  # fmt: skip
    return {"alike.wdl": text}


SHAPES = {
    "two scatters, one subworkflow": two_scatters_one_subworkflow,
    "shared prefixes": shared_prefixes,
    "deep paths": deep_paths,
    "alike scatters": alike_scatters,
}
