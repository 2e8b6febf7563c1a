"""Failing well: bad input stops before anything runs; a failing task stops the run fast."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..conftest import ROOT, SAMPLES
from .helpers import wdl2sfn

FIXTURES = ROOT / "tests" / "fixtures"
HELLO = str(SAMPLES / "hello" / "hello.wdl")
FILES = str(SAMPLES / "files" / "files.wdl")


def no_runs(root: Path) -> bool:
    return not root.exists() or not any(p.name != ".wdl2sfn" for p in root.iterdir())


def test_malformed_wdl_exits_2_with_location_and_runs_nothing(tmp_path):
    out = wdl2sfn("run", str(FIXTURES / "malformed.wdl"), "--dir", str(tmp_path))
    assert out.code == 2
    assert out.last_line.startswith(f"{FIXTURES / 'malformed.wdl'}:4:3:")
    assert no_runs(tmp_path)


def test_unknown_input_names_the_input(tmp_path):
    out = wdl2sfn("run", HELLO, "nosuch=1", "--dir", str(tmp_path))
    assert out.code == 2
    assert "nosuch" in out.last_line
    assert no_runs(tmp_path)


def test_wrong_input_type_names_input_and_expected_type(tmp_path):
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps({"scatter_gather.numbers": ["one", "two"]}))
    out = wdl2sfn(
        "run",
        str(SAMPLES / "scatter_gather" / "scatter_gather.wdl"),
        "-i",
        str(inputs),
        "--dir",
        str(tmp_path / "runs"),
    )
    assert out.code == 2
    assert "numbers" in out.last_line and "Int" in out.last_line
    assert no_runs(tmp_path / "runs")


def test_missing_required_input_is_named(tmp_path):
    out = wdl2sfn("run", FILES, "--dir", str(tmp_path))
    assert out.code == 2
    assert "text" in out.last_line and "missing" in out.last_line
    assert no_runs(tmp_path)


def test_inputs_file_that_is_not_json_names_file_and_position(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello.who": "x",\n  oops}')
    out = wdl2sfn("run", HELLO, "-i", str(bad), "--dir", str(tmp_path / "runs"))
    assert out.code == 2
    assert out.last_line.startswith(f"{bad}:2:")
    assert no_runs(tmp_path / "runs")


def test_missing_file_input_is_named(tmp_path):
    out = wdl2sfn("run", FILES, f"text={tmp_path / 'absent.txt'}", "--dir", str(tmp_path / "runs"))
    assert out.code == 2
    assert "absent.txt" in out.last_line
    assert no_runs(tmp_path / "runs")


def test_failing_task_reports_call_exit_code_stderr_and_logs(tmp_path):
    out = wdl2sfn("run", str(FIXTURES / "failing.wdl"), "--dir", str(tmp_path))
    assert out.code == 3  # the task's exit status, as miniwdl
    line = out.last_line
    assert "fail" in line and "exit status 3" in line
    assert "disk quota exceeded" in line
    error = out.json
    run_dir = Path(error["dir"])
    assert (error["error"], error["cause"]["error"]) == ("RunFailed", "CommandFailed")
    assert error["wdl2sfn_error"] == "WdlTaskFailed"
    assert json.loads((run_dir / "error.json").read_text()) == error
    assert (
        (run_dir / "calls" / "fail" / "stderr.txt")
        .read_text()
        .strip()
        .endswith("disk quota exceeded")
    )
    assert str(run_dir / "calls" / "fail") in line


def test_failing_task_stops_its_running_siblings_fast(tmp_path):
    started = time.monotonic()
    out = wdl2sfn("run", str(FIXTURES / "failing.wdl"), "--dir", str(tmp_path))
    assert out.code == 3  # the task's exit status, as miniwdl
    assert time.monotonic() - started < 25  # the sibling sleeps 30 s: it was killed
    run_dir = Path(out.json["dir"])
    assert not (run_dir / "calls" / "slow" / "outputs.json").exists()


def test_output_path_outside_the_call_directory_fails_the_run(tmp_path):
    wdl = tmp_path / "escape.wdl"
    wdl.write_text(
        "version 1.1\nworkflow escape { call t }\n"
        'task t { command <<< echo hi >>> output { File f = "../../../../../etc/hostname" } }\n'
    )
    out = wdl2sfn("run", str(wdl), "--dir", str(tmp_path / "runs"))
    assert out.code == 1
    assert "f" in out.last_line and "outside" in out.stdout


def test_run_name_cannot_escape_the_store(tmp_path):
    from wdl2sfn.task_runner.store import RunStore

    store = RunStore(tmp_path)
    for bad in ("../elsewhere", "/etc", ".hidden", ""):
        try:
            store.run_dir(bad)
        except ValueError:
            continue
        raise AssertionError(f"run name {bad!r} was accepted")
