"""`wdl2sfn check` reports a broken document as `miniwdl check` does: every error with its source
line and a caret, a syntax error's "Expected one of" list, nothing on stdout; the last stderr line
stays FILE:LINE:COL: message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    wdl = tmp_path / "broken.wdl"
    wdl.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", "check", str(wdl)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


TWO_ERRORS = """version 1.1
workflow w {
  input { Int x }
  Int y = z + 1
  String s = x + "a" + undefined_fn(1)
}
"""


def test_every_validation_error_is_shown_with_its_source_line_and_a_caret(tmp_path):
    done = check(tmp_path, TWO_ERRORS)
    assert done.returncode == 2
    assert "Unknown identifier z" in done.stderr and "No such function: undefined_fn" in done.stderr
    assert "      Int y = z + 1\n              ^\n" in done.stderr
    assert "^^^^^^^^^^^^^^^" in done.stderr  # undefined_fn(1) underlined whole


def test_a_failed_check_prints_nothing_on_stdout(tmp_path):
    assert check(tmp_path, TWO_ERRORS).stdout == ""


def test_the_last_line_still_names_file_line_and_column(tmp_path):
    done = check(tmp_path, TWO_ERRORS)
    assert done.stderr.splitlines()[-1].endswith("broken.wdl:4:11: Unknown identifier z")


def test_a_syntax_error_lists_what_was_expected(tmp_path):
    done = check(
        tmp_path, "version 1.1\nworkflow w {\n  input { Int x }\n  call t { input: y = x \n}\n"
    )
    assert done.returncode == 2
    assert "Expected one of:" in done.stderr and "* RBRACE" in done.stderr
