"""`wdl2sfn compile` and `graph` through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

from wdl2sfn.compiler import compile_workflow
from wdl2sfn.compiler.asl import definition_bytes

from .conftest import ROOT, sample

WDL2SFN = [sys.executable, "-m", "wdl2sfn.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WDL2SFN, *args], capture_output=True, text=True, cwd=ROOT)


def test_compile_prints_asl_json_on_stdout():
    out = run("compile", str(sample("hello")))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["StartAt"] == "init"


def test_compile_report_goes_to_stderr():
    out = run("compile", str(sample("scatter_gather")), "--report")
    assert out.returncode == 0
    assert "history events" in out.stderr and "placeholders:" in out.stderr


def test_malformed_wdl_exits_2_with_file_line_column(tmp_path):
    out = run(
        "compile",
        str(ROOT / "tests" / "fixtures" / "malformed.wdl"),
        "-o",
        str(tmp_path / "x.json"),
    )
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(str(ROOT / "tests" / "fixtures" / "malformed.wdl") + ":4:3:"), last
    assert not (tmp_path / "x.json").exists()


def test_graph_mermaid_names_the_calls():
    out = run("graph", str(sample("scatter_gather")))
    assert out.returncode == 0
    assert out.stdout.startswith("flowchart TD") and "call square" in out.stdout


def test_graph_dot_is_a_digraph_with_clusters_for_maps():
    out = run("graph", str(sample("scatter_gather")), "--format", "dot")
    assert out.returncode == 0
    assert out.stdout.startswith("digraph statemachine {") and "subgraph cluster_" in out.stdout


def test_compile_report_prints_bytes_per_call_all_in_over_every_machine():
    """Issue 25: total definition (the workflow's machine and each child machine, once) over
    the calls, so fixed states (init, outputs, scatters, failure steps) count too."""
    for mode in ("efs", "fsx"):
        args = ["--filesystem", mode, "--subworkflows", "machine"]
        out = run("compile", str(sample("subworkflow")), "--report", "-o", "/dev/null", *args)
        assert out.returncode == 0, out.stderr
        compiled = compile_workflow(
            str(sample("subworkflow")), filesystem=mode, subworkflows="machine"
        )
        machines = [compiled.definition] + [m.definition for m in compiled.all_machines().values()]
        total = sum(definition_bytes(d) for d in machines)
        calls = 1  # lib.wdl's one task call, in the child machine
        assert len(machines) == 2
        assert f"bytes per call, all in: {round(total / calls):,} ({total:,} bytes" in out.stderr


def test_version_prints_the_installed_distribution_s_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"wdl2sfn {version('wdl2sfn')}"


CHILD = "version 1.0\nworkflow child { input { Int x } output { Int y = x + 1 } }\n"
PARENT = """version 1.0
import "child.wdl" as c
workflow many { call c.child { input: x = 1 } output { Int y = child.y } }
"""


def test_compile_o_writes_each_child_where_the_readme_says(tmp_path):
    """README: `-o many.json` gives `many.json` and `many.<child>.json`; a FILE with another
    suffix keeps it (`-o plan.asl` -> `plan.asl.child.json`, not `plan.child.json`)."""
    (tmp_path / "child.wdl").write_text(CHILD)
    (tmp_path / "many.wdl").write_text(PARENT)
    wdl = str(tmp_path / "many.wdl")
    for output, child in (("many.json", "many.child.json"), ("plan.asl", "plan.asl.child.json")):
        out = run("compile", wdl, "--subworkflows", "machine", "-o", str(tmp_path / output))
        assert out.returncode == 0, out.stderr
        assert json.loads((tmp_path / child).read_text())["StartAt"]
    assert "many.<child>.json" in (ROOT / "README.md").read_text()


BIG_CHILD = (
    "version 1.0\ntask t { command <<< true >>> }\nworkflow child {\n"
    + "".join(f"  call t as t{i}\n" for i in range(40))
    + "}\n"
)
SMALL_PARENT = 'version 1.0\nimport "child.wdl" as c\nworkflow top { call c.child }\n'


def test_the_report_counts_child_executions_in_the_worst_execution(tmp_path):
    (tmp_path / "child.wdl").write_text(BIG_CHILD)
    (tmp_path / "top.wdl").write_text(SMALL_PARENT)
    report = tmp_path / "report.json"
    out = run("compile", str(tmp_path / "top.wdl"), "--subworkflows", "machine",
              "-o", str(tmp_path / "top.json"), "--report-json", str(report))  # fmt: skip
    assert out.returncode == 0, out.stderr
    history = json.loads(report.read_text())["history"]
    # 40 calls in the child's execution, one Task state starting it in the top one
    assert history["worst_execution_events"] > history["root_execution_events"], history
