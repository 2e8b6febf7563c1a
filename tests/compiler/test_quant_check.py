"""`--no-quant-check`, as miniwdl's: T? accepted where T is expected, at compile and run time."""

from __future__ import annotations

from pathlib import Path

from ..integration.helpers import wdl2sfn

WORKFLOW = """\
version 1.0
workflow quant {
  input {
    Int? maybe = 3
  }
  call inc { input: x = maybe }
  output {
    Int out = inc.y
  }
}
task inc {
  input {
    Int x
  }
  Int doubled = x + x
  command <<<
    echo $(( ~{doubled} + 1 ))
  >>>
  output {
    Int y = read_int(stdout())
  }
}
"""


def _wdl(tmp_path: Path) -> str:
    path = tmp_path / "quant.wdl"
    path.write_text(WORKFLOW)
    return str(path)


def test_an_optional_where_a_value_is_expected_is_refused_by_default(tmp_path: Path):
    out = wdl2sfn("compile", _wdl(tmp_path))
    assert out.code == 2
    assert out.last_line.startswith(f"{tmp_path / 'quant.wdl'}:6:")


def test_no_quant_check_compiles_and_graphs(tmp_path: Path):
    wdl = _wdl(tmp_path)
    assert wdl2sfn("compile", "--no-quant-check", wdl).code == 0
    assert wdl2sfn("graph", "--no-quant-check", wdl).code == 0


def test_no_quant_check_runs_end_to_end_including_the_run_time_steps(tmp_path: Path):
    out = wdl2sfn("run", "--no-quant-check", _wdl(tmp_path), "--dir", str(tmp_path / "runs"))
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {"quant.out": 7}
