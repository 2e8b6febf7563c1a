"""Issue 24 B2 under the rehearsal: on AWS prepare runs with the whole file system mounted, so a
link out of a Directory output would be placed into the next call's folder; collect refuses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import rehearse

pytestmark = pytest.mark.slow

ETC = """version development
task make {
  command <<<
    mkdir d
    echo inside > d/own.txt
    ln -s /etc d/etc
  >>>
  output {
    Directory o = "d"
  }
}
task read {
  input {
    Directory d
  }
  command <<<
    cat ~{d}/etc/passwd
  >>>
  output {
    String seen = read_string(stdout())
  }
}
workflow w {
  call make
  call read { input: d = make.o }
}
"""


def test_an_absolute_directory_link_out_is_refused_on_aws(tmp_path: Path) -> None:
    """docs/security.md: "a `Directory` output may not hold a symlink (file or directory,
    relative or absolute) that resolves out of it"."""
    wdl = tmp_path / "wf" / "etc.wdl"
    wdl.parent.mkdir()
    wdl.write_text(ETC)
    done = rehearse(tmp_path / "store", wdl)
    assert done.returncode != 0, done.stdout[-2000:]
    assert "root:" not in done.stdout
    text = done.stdout + done.stderr
    assert "output o" in text and "etc -> /etc" in text, text[-3000:]
