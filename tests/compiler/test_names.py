"""State and machine names: readable, never cut inside a word or a role, unique."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wdl2sfn import contract
from wdl2sfn.compiler import compile_workflow, ir
from wdl2sfn.compiler.asl import MAX_STATE_NAME
from wdl2sfn.compiler.names import machine_name, parallel_label, shorten, shorten_path
from wdl2sfn.compiler.report import human_report

from .test_compile import all_states

LONG = "align_reads_against_the_reference_genome_with_bwa_mem_and_sort_them"  # 68 characters

WORKFLOW = f"""\
version 1.1
workflow names {{
  input {{ Array[Int] samples = [1, 2] }}
  call t as {LONG} {{ input: i = 0 }}
  call t as {LONG}_again {{ input: i = 1 }}
  scatter (s in samples) {{
    call t as first {{ input: i = s }}
  }}
  scatter (s in samples) {{
    call t as second {{ input: i = s }}
  }}
  output {{ Array[Int] a = first.out }}
}}
task t {{
  input {{ Int i }}
  command <<< echo ~{{i}} >>>
  output {{ Int out = read_int(stdout()) }}
}}
"""


def names_of(tmp_path: Path, text: str = WORKFLOW, **options: Any) -> list[str]:
    path = tmp_path / "names.wdl"
    path.write_text(text)
    definition = compile_workflow(str(path), **options).definition
    return [n for n, _ in all_states(definition["States"])]


def test_long_calls_are_one_state_each_told_apart_without_a_counter(tmp_path: Path):
    names = names_of(tmp_path)
    calls = [n for n in names if "sort_them" in n and n.startswith("call ")]
    assert len(calls) == 2 and calls[0] != calls[1], calls
    assert not [n for n in names if "#" in n]


def test_names_are_unique_and_within_80_characters_in_both_modes(tmp_path: Path):
    for mode in ("efs", "fsx"):
        names = names_of(tmp_path, filesystem=mode)
        assert len(names) == len(set(names))
        assert max(map(len, names)) <= MAX_STATE_NAME


def test_scatters_read_variable_and_collection_and_add_file_line_when_alike(tmp_path: Path):
    names = names_of(tmp_path)
    assert "scatter s in samples (names.wdl:6)" in names
    assert "scatter s in samples (names.wdl:9)" in names
    assert "scatter s in samples (names.wdl:9): shards" in names


def test_a_lone_scatter_needs_no_file_line(tmp_path: Path):
    text = WORKFLOW.replace(
        "call t as second { input: i = s }", "call t as second { input: i = 2 }"
    )
    text = text.replace(
        "scatter (s in samples) {\n    call t as second", "if (true) {\n    call t as second"
    )
    names = names_of(tmp_path, text)
    assert "scatter s in samples" in names


def test_shorten_cuts_after_a_word_never_inside_one():
    text = "if defined(some_optional_input) && length(another_array_of_things) > 3"
    short = shorten(text, 40)
    assert len(short) <= 40 and short.endswith("…")
    assert text.startswith(short[:-1])
    assert text[len(short) - 1] in " ._,("


def test_a_long_call_path_loses_whole_components_of_its_middle_first():
    path = "outer_subworkflow_name.middle_subworkflow_name.inner_subworkflow_name.align"
    assert (
        shorten_path("call ", path, 60)
        == "call outer_subworkflow_name.middle_subworkflow_name.….align"
    )
    assert shorten_path("call ", path, 40) == "call outer_subworkflow_name.….align"


def test_machine_names_stay_unique_within_80_characters():
    callee = "w" * 90
    caller = "w" * 94
    a, b = machine_name("stack", callee), machine_name("stack", caller)
    assert a != b and len(a) <= 80 and len(b) <= 80


def test_a_long_subworkflow_and_its_long_caller_deploy_as_two_machines(tmp_path: Path):
    callee, caller = "s" * 90, "c" * 94
    (tmp_path / "sub.wdl").write_text(
        f"version 1.1\nworkflow {callee} {{\n  call t\n}}\ntask t {{\n  command <<< true >>>\n}}\n"
    )
    main = tmp_path / "main.wdl"
    main.write_text(
        f'version 1.1\nimport "sub.wdl"\nworkflow {caller} {{\n  call sub.{callee}\n}}\n'
    )
    compiled = compile_workflow(str(main), subworkflows="machine")
    names = [contract.machine_name("wdl2sfn", n) for n in [compiled.name, *compiled.all_machines()]]
    assert len(names) == len(set(names)) == 2
    assert all(len(n) <= 80 for n in names)


def test_machine_names_are_stable_and_short_names_unchanged():
    assert machine_name("stack", "x" * 100) == machine_name("stack", "x" * 100)
    assert machine_name("stack", "hello") == "stack-hello"


LONG_COLLECTIONS = """\
version 1.1
workflow grouping {
  call groups as CreateSequenceGroupingTSV
  scatter (subgroup in CreateSequenceGroupingTSV.sequence_grouping) {
    call t as recalibrate { input: i = length(subgroup) }
  }
  scatter (subgroup in CreateSequenceGroupingTSV.sequence_grouping_with_unmapped) {
    call t as apply { input: i = length(subgroup) }
  }
}
task groups {
  command <<< printf 'a\\tb\\nc\\n' >>>
  output {
    Array[Array[String]] sequence_grouping = read_tsv(stdout())
    Array[Array[String]] sequence_grouping_with_unmapped = read_tsv(stdout())
  }
}
task t {
  input { Int i }
  command <<< echo ~{i} >>>
  output { Int out = read_int(stdout()) }
}
"""


def test_a_long_scatter_keeps_its_head_and_the_end_of_its_collection(tmp_path: Path):
    names = names_of(tmp_path, LONG_COLLECTIONS)
    scatters = [n for n in names if n.startswith("scatter subgroup in ") and ":" not in n]
    assert len(scatters) == 2
    assert any(n.endswith("with_unmapped") for n in scatters)
    assert not [n for n in names if n.split(":")[0].endswith("…")]


def test_a_long_if_keeps_its_head_whole(tmp_path: Path):
    condition = "length(CreateSequenceGroupingTSV.sequence_grouping_with_unmapped) > 3"
    text = LONG_COLLECTIONS.replace(
        "scatter (subgroup in CreateSequenceGroupingTSV.sequence_grouping_with_unmapped) {",
        f"if ({condition}) {{",
    ).replace("length(subgroup) }\n  }\n}", "0 }\n  }\n}")
    names = names_of(tmp_path, text)
    ifs = [n for n in names if n.startswith("if ") and ":" not in n]
    assert len(ifs) == 1 and ifs[0].endswith("> 3") and "…" in ifs[0]


def test_the_report_names_a_scatter_s_place_once_when_its_label_carries_it(tmp_path: Path):
    path = tmp_path / "names.wdl"
    path.write_text(WORKFLOW)
    text = human_report(compile_workflow(str(path)).report)
    assert "scatter s in samples (names.wdl:9):" in text
    assert "(names.wdl:9) (names.wdl:9)" not in text


def _parallel_workflow(prefix: str, width: int) -> str:
    """Two parallel groups: `width` calls on the input, then `width` calls on their join."""
    first = "\n".join(f"  call t as {prefix}{k} {{ input: i = {k} }}" for k in range(width))
    total = " + ".join(f"{prefix}{k}.out" for k in range(width))
    second = "\n".join(
        f"  call t as after_{prefix}{k} {{ input: i = join.out + {k} }}" for k in range(width)
    )
    return (
        f"version 1.1\nworkflow par {{\n{first}\n  call t as join {{ input: i = {total} }}\n"
        f"{second}\n}}\ntask t {{\n  input {{ Int i }}\n  command <<< echo ~{{i}} >>>\n"
        "  output { Int out = read_int(stdout()) }\n}\n"
    )


def test_parallel_states_read_apart_by_how_their_branches_start(tmp_path: Path):
    names = names_of(tmp_path, _parallel_workflow("a", 2))
    parallels = sorted(n for n in names if n.startswith("in parallel") and "branch" not in n)
    assert parallels == [
        "in parallel: call a0, call a1",
        "in parallel: call after_a0, call after_a1",
    ]


def test_a_wide_parallel_names_whole_labels_and_counts_the_rest(tmp_path: Path):
    names = names_of(tmp_path, _parallel_workflow(LONG[:40] + "_", 10), filesystem="fsx")
    parallels = [n for n in names if n.startswith("in parallel") and "branch" not in n]
    assert len(parallels) == 2 and all(n.endswith(" +9") for n in parallels)
    assert not [
        n for n in names if ", branch " in n
    ]  # no failure step per branch: calls fail in the call machine
    heads = sorted(n.split("…")[0] for n in parallels)
    assert heads[0].startswith("in parallel: call after_align")
    assert heads[1].startswith("in parallel: call align_reads")
    assert all(re.search(r"[…_]0 \+9$", n) for n in parallels)
    assert max(map(len, names)) <= MAX_STATE_NAME and len(names) == len(set(names))


def test_a_parallel_of_long_ifs_names_them_by_their_place(tmp_path: Path):
    cond = " && ".join(f"length(samples) > {k}" for k in range(4))
    text = (
        "version 1.1\nworkflow par {\n  input { Array[Int] samples = [1] }\n"
        f"  if ({cond}) {{\n    call t as a {{ input: i = 1 }}\n  }}\n"
        f"  if ({cond} && true) {{\n    call t as b {{ input: i = 2 }}\n  }}\n}}\n"
        "task t {\n  input { Int i }\n  command <<< echo ~{i} >>>\n"
        "  output { Int out = read_int(stdout()) }\n}\n"
    )
    names = names_of(tmp_path, text)
    assert "in parallel: if (names.wdl:4), if (names.wdl:7)" in names


def test_a_parallel_label_leaves_room_for_its_longest_branch_role():
    units = [ir.CallUnit("a", "call " + "a" * 15, 1), ir.CallUnit("b", "call " + "b" * 14, 2)]
    label = parallel_label(ir.Par(branches=list(units)))
    assert len(label + ", branch 10: failed: result") <= MAX_STATE_NAME


def test_alike_scatters_too_long_for_their_place_read_variable_and_place(tmp_path: Path):
    collection = "CreateSequenceGroupingTSV.sequence_grouping_with_unmapped"
    text = LONG_COLLECTIONS.replace("sequence_grouping)", "sequence_grouping_with_unmapped)")
    path = tmp_path / "processing-for-variant-discovery-gatk4.wdl"
    path.write_text(text)
    definition = compile_workflow(str(path)).definition
    names = [n for n, _ in all_states(definition["States"])]
    assert f"scatter subgroup in {collection}" not in names
    assert "scatter subgroup (processing-for-variant-discovery-gatk4.wdl:4)" in names
    assert "scatter subgroup (processing-for-variant-discovery-gatk4.wdl:7)" in names
