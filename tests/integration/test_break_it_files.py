"""Issue 13, file access: a task returns only its own files, a workflow touches only its inputs
and what its calls produced (miniwdl's rules), while a File value merely declared stays legal."""

from __future__ import annotations

from pathlib import Path

from .helpers import wdl2sfn


def run(tmp_path: Path, source: str, *inputs: str):  # type: ignore[no-untyped-def]
    wf = tmp_path / "wf.wdl"
    wf.write_text(source)
    return wdl2sfn("run", str(wf), *inputs, "--dir", str(tmp_path / "runs"))


def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("not yours\n")
    return path


def test_a_task_output_outside_its_work_directory_is_refused(tmp_path):
    out = run(
        tmp_path,
        """version 1.0
workflow w { call t  output { File f = t.f } }
task t { command <<< echo hi >>> output { File f = "../stdout.txt" } }
""",
    )
    assert out.code == 1, out.stdout
    assert (
        "task output path resolves outside the task's work directory: f = ../stdout.txt"
        in out.last_line
    )


def test_a_workflow_cannot_read_a_host_file_it_was_not_given(tmp_path):
    path = secret(tmp_path)
    out = run(
        tmp_path,
        f"""version 1.0
workflow w {{
  String s = read_string("{path}")
  output {{ String o = s }}
}}
""",
    )
    assert out.code == 1, out.stdout
    assert f"neither a workflow input nor produced by a call: {path}" in out.last_line


def test_a_workflow_output_cannot_name_a_host_file_it_was_not_given(tmp_path):
    path = secret(tmp_path)
    out = run(tmp_path, f'version 1.0\nworkflow w {{ output {{ File f = "{path}" }} }}\n')
    assert out.code == 1, out.stdout
    assert out.last_line == (
        f"wdl2sfn: workflow output f uses a file that is neither a workflow input nor "
        f"produced by a call: {path}"
    )


def test_a_workflow_cannot_hand_a_host_file_to_a_task(tmp_path):
    path = secret(tmp_path)
    out = run(
        tmp_path,
        f"""version 1.0
workflow w {{
  File x = "{path}"
  call t {{ input: f = x }}
  output {{ String s = t.s }}
}}
task t {{ input {{ File f }} command <<< cat ~{{f}} >>> output {{ String s = read_string(stdout()) }} }}
""",
    )
    assert out.code == 1, out.stdout
    assert (
        f"input f uses a file that is neither a workflow input nor produced by a call: {path}"
        in (out.last_line)
    )
    assert out.json["message"].startswith("call t: input f uses a file")


def test_inputs_and_call_products_are_read_and_returned_freely(tmp_path):
    path = secret(tmp_path)
    out = run(
        tmp_path,
        """version 1.0
workflow w {
  input { File given }
  call t { input: f = given }
  output { String a = read_string(given)  String b = read_string(t.copy)  File c = t.copy }
}
task t { input { File f } command <<< cat ~{f} > copy.txt >>> output { File copy = "copy.txt" } }
""",
        f"given={path}",
    )
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["w.a"] == out.json["outputs"]["w.b"] == "not yours"


def test_a_file_value_only_declared_and_compared_stays_legal(tmp_path):
    out = run(
        tmp_path,
        """version 1.1
workflow w {
  File x = "/hij"
  output { Boolean same = "~{x}" == "/hij" }
}
""",
    )
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {"w.same": True}


def test_wdl_1_2_reads_files_beside_its_source_but_not_above_it(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "beside.txt").write_text("beside\n")
    secret(tmp_path)
    outputs = {
        "beside": 'String s = read_string("beside.txt")',
        "above": 'String s = read_string("../secret.txt")',
    }
    results = {}
    for name, output in outputs.items():
        wf = src / f"{name}.wdl"
        wf.write_text(f"version 1.2\nworkflow w {{ output {{ {output} }} }}\n")
        results[name] = wdl2sfn("run", str(wf), "--dir", str(tmp_path / "runs"))
    assert results["beside"].code == 0, results["beside"].stderr
    assert results["beside"].json["outputs"] == {"w.s": "beside"}
    assert results["above"].code == 1, results["above"].stdout
    assert (
        "neither a workflow input nor produced by a call: ../secret.txt"
        in results["above"].last_line
    )
