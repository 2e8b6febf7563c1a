"""Issue 13, loading: a careless or hostile WDL file or inputs JSON gets one clear line, exit 2."""

from __future__ import annotations

from pathlib import Path

from .helpers import wdl2sfn

ECHO = """version 1.0
workflow w {
  input { String s }
  output { String o = s }
}
"""


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_a_wdl_file_that_is_not_utf8_names_the_byte_and_its_line(tmp_path):
    write(tmp_path / "latin.wdl", b"version 1.0\n# caf\xe9\nworkflow w { }\n")
    out = wdl2sfn("compile", "latin.wdl", cwd=tmp_path)
    assert out.code == 2
    assert out.last_line == "latin.wdl: not UTF-8 (byte 0xE9 at line 2)"
    assert "Traceback" not in out.stderr


def test_an_imported_file_that_is_not_utf8_is_named_itself(tmp_path):
    bad = write(tmp_path / "bad.wdl", b"version 1.0\n\n\x00\xff binary\n")
    wf = write(tmp_path / "main.wdl", 'version 1.0\nimport "bad.wdl"\nworkflow m { }\n')
    out = wdl2sfn("compile", str(wf))
    assert out.code == 2
    assert out.last_line == f"{bad}: not UTF-8 (byte 0xFF at line 3)"


def test_a_wdl_path_that_is_a_directory_is_one_line(tmp_path):
    folder = tmp_path / "wf.wdl"
    folder.mkdir()
    out = wdl2sfn("run", str(folder), "--dir", str(tmp_path / "runs"))
    assert out.code == 2
    assert out.stderr.strip() == f"{folder}: is a directory, not a WDL file"


def test_an_escaped_surrogate_pair_is_the_character_it_encodes(tmp_path):
    wf = write(tmp_path / "echo.wdl", ECHO)
    inputs = write(tmp_path / "in.json", '{"w.s": "smile \\ud83d\\ude00"}')
    out = wdl2sfn("run", str(wf), "-i", str(inputs), "--dir", str(tmp_path / "runs"))
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {"w.o": "smile \N{GRINNING FACE}"}


def test_a_lone_surrogate_is_an_input_error_that_leaves_no_run_folder(tmp_path):
    wf = write(tmp_path / "echo.wdl", ECHO)
    inputs = write(tmp_path / "in.json", '{"w.s": "\\ud83d"}')
    root = tmp_path / "runs"
    out = wdl2sfn("run", str(wf), "-i", str(inputs), "--dir", str(root))
    assert out.code == 2
    assert "surrogate" in out.last_line
    assert not root.exists() or not any(p.name != ".wdl2sfn" for p in root.iterdir())


def test_an_import_cycle_names_the_whole_chain(tmp_path):
    write(tmp_path / "a.wdl", 'version 1.0\nimport "b.wdl"\nworkflow a { }\n')
    write(tmp_path / "b.wdl", 'version 1.0\nimport "a.wdl"\nworkflow b { }\n')
    out = wdl2sfn("compile", str(tmp_path / "a.wdl"))
    assert out.code == 2
    assert out.last_line.endswith("circular import: a.wdl → b.wdl → a.wdl")
