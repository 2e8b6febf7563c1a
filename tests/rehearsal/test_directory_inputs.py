"""Under the rehearsal (the AWS stack's wiring), a task handed a `Directory` input sees its files
with `find DIR -type f`, as locally (tests/cli/test_directory_inputs.py; issue 23, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..cli.test_directory_inputs import TWO_TASKS
from .conftest import rehearse

pytestmark = pytest.mark.slow


def test_find_type_f_sees_the_files_of_a_directory_input_on_aws(tmp_path: Path) -> None:
    wdl = tmp_path / "wf" / "dirs.wdl"
    wdl.parent.mkdir()
    wdl.write_text(TWO_TASKS.replace("VERSION", "1.2"))
    done = rehearse(tmp_path / "store", wdl)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = done.result["outputs"]
    assert outputs["w.found"] == ["a/b/y.txt", "a/x.txt"]
    assert outputs["w.count"] == 2
