"""The error JSON of a failed call is miniwdl's (issue 24, item 3): ``--error-json`` and ``-o``
write ``{"error": "RunFailed", "cause": {"error": "CommandFailed", "exit_status", "stderr_file",
...}}`` as ``miniwdl run --error-json`` does, with wdl2sfn's own fields beside."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..conftest import ROOT
from ..integration.helpers import wdl2sfn

FAIL = ROOT / "tests" / "fixtures" / "run_folder" / "fail.wdl"
MINIWDL_HOST = ROOT / "bench" / "miniwdl_host.py"


def miniwdl_error(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "miniwdl.json"
    done = subprocess.run(
        [sys.executable, str(MINIWDL_HOST), "run", str(FAIL), "--dir", str(tmp_path / "m"),
         "--error-json", "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    return dict(json.loads(out.read_text()))


def ours_error(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "ours.json"
    done = wdl2sfn("run", str(FAIL), "--dir", str(tmp_path / "w"), "--container", "host",
                   "--error-json", "-o", str(out))  # fmt: skip
    assert done.code == 3, done.stderr
    return dict(json.loads(out.read_text()))


def shape(error: dict[str, Any]) -> dict[str, Any]:
    """What a script reads of miniwdl's error JSON: names, the exit status, the stderr text."""
    cause = error["cause"]
    return {
        "error": error["error"],
        "workflow": error["workflow"],
        "cause.error": cause["error"],
        "cause.exit_status": cause["exit_status"],
        "cause.stderr": Path(cause["stderr_file"]).read_text(),
        "cause.stdout": Path(cause["stdout_file"]).read_text(),
        "cause.dir": Path(cause["dir"]).is_dir(),
        "dir": Path(error["dir"]).is_dir(),
    }


def test_a_failed_command_gives_miniwdls_error_json(tmp_path: Path) -> None:
    assert shape(ours_error(tmp_path)) == shape(miniwdl_error(tmp_path))


def test_the_error_json_keeps_wdl2sfns_own_fields_beside(tmp_path: Path) -> None:
    error = ours_error(tmp_path)
    assert error["wdl2sfn_error"] == "WdlTaskFailed" and error["call"] == "boom"
    assert "call boom failed with exit status 3" in error["summary"]
    assert json.loads((Path(error["dir"]) / "error.json").read_text()) == error
