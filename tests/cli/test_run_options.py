"""`wdl2sfn run` takes miniwdl's options with miniwdl's meanings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..conftest import SAMPLES
from ..integration.helpers import wdl2sfn

HELLO = str(SAMPLES / "hello" / "hello.wdl")

ENV_WDL = """version 1.1
task show_env {
  command <<< echo "${GREETING:-unset}/${PASSED:-unset}" >>>
  output { String out = read_string(stdout()) }
}
"""

FLAKY_WDL = """version 1.1
# fails its first attempt, succeeds on a retry
task flaky {
  command <<<
    if [ -e ../tried ]; then echo ok; else touch ../tried; exit 1; fi
  >>>
  output { String out = read_string(stdout()) }
}
"""


def runs_in(folder: Path) -> list[Path]:
    return sorted(p.parent for p in folder.glob("*/run.json") if not p.parent.is_symlink())


def test_dash_d_is_the_run_folder_root(tmp_path):
    out = wdl2sfn("run", HELLO, "who=x", "-d", str(tmp_path))
    assert out.code == 0, out.stderr
    assert out.run_dir.parent == tmp_path


def test_default_run_folder_is_the_current_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WDL2SFN_DIR"}
    out = subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", "run", HELLO, "who=x"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert Path(json.loads(out.stdout)["dir"]).parent == tmp_path


def test_run_help_says_where_runs_go():
    out = wdl2sfn("run", "--help")
    assert "current directory" in out.stdout and "WDL2SFN_DIR" in out.stdout


def test_dash_o_writes_the_outputs_json_to_a_file(tmp_path):
    target = tmp_path / "out.json"
    out = wdl2sfn("run", HELLO, "who=x", "-d", str(tmp_path), "-o", str(target))
    assert out.code == 0 and out.stdout == ""
    assert json.loads(target.read_text())["outputs"] == {"hello.message": "Hello, x!"}


def test_dash_o_writes_the_error_json_on_failure(tmp_path):
    wdl = tmp_path / "bad.wdl"
    wdl.write_text("version 1.1\ntask bad { command <<< exit 4 >>> }\n")
    target = tmp_path / "err.json"
    out = wdl2sfn("run", str(wdl), "-d", str(tmp_path), "-o", str(target), "--error-json")
    assert out.code == 4
    assert json.loads(target.read_text())["exit_status"] == 4


def test_error_json_is_accepted_and_printed_on_stdout(tmp_path):
    wdl = tmp_path / "bad.wdl"
    wdl.write_text("version 1.1\ntask bad { command <<< exit 4 >>> }\n")
    out = wdl2sfn("run", str(wdl), "-d", str(tmp_path), "--error-json")
    assert out.json["error"] == "RunFailed" and out.json["cause"]["exit_status"] == 4


def test_inputs_from_stdin(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", "run", HELLO, "-i", "-", "-d", str(tmp_path)],
        input='{"hello.who": "stdin"}',
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(out.stdout)["outputs"]["hello.message"] == "Hello, stdin!"


def test_inline_json_inputs(tmp_path):
    out = wdl2sfn("run", HELLO, "-i", '{"hello.who": "inline"}', "-d", str(tmp_path))
    assert out.json["outputs"]["hello.message"] == "Hello, inline!"


def test_inputs_from_a_process_substitution(tmp_path):
    line = (
        f"{sys.executable} -m wdl2sfn.cli run {HELLO} -d {tmp_path} "
        '-i <(echo \'{"hello.who": "procsub"}\')'
    )
    out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["outputs"]["hello.message"] == "Hello, procsub!"


def test_env_sets_and_passes_through_task_environment(tmp_path):
    wdl = tmp_path / "env.wdl"
    wdl.write_text(ENV_WDL)
    out = wdl2sfn(
        "run",
        str(wdl),
        "--env",
        "GREETING=hi",
        "--env",
        "PASSED",
        "-d",
        str(tmp_path),
        env={"PASSED": "through"},
    )
    assert out.json["outputs"]["show_env.out"] == "hi/through"


def test_env_naming_an_unset_variable_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NOT_SET_HERE"}
    out = wdl2sfn("run", HELLO, "--env", "NOT_SET_HERE", "-d", str(tmp_path), env=env)
    assert out.code == 2 and "NOT_SET_HERE" in out.last_line


def test_runtime_defaults_apply_to_tasks_that_do_not_set_them(tmp_path):
    wdl = tmp_path / "flaky.wdl"
    wdl.write_text(FLAKY_WDL)
    without = wdl2sfn("run", str(wdl), "-d", str(tmp_path), "--no-cache")
    assert without.code == 1
    retried = wdl2sfn(
        "run",
        str(wdl),
        "-d",
        str(tmp_path),
        "--no-cache",
        "--runtime-defaults",
        '{"maxRetries": 1}',
    )
    assert retried.code == 0, retried.stderr
    assert retried.json["outputs"]["flaky.out"] == "ok"


def test_runtime_defaults_from_a_file(tmp_path):
    wdl = tmp_path / "flaky.wdl"
    wdl.write_text(FLAKY_WDL)
    defaults = tmp_path / "defaults.json"
    defaults.write_text('{"maxRetries": 1}')
    out = wdl2sfn("run", str(wdl), "-d", str(tmp_path), "--runtime-defaults", str(defaults))
    assert out.code == 0, out.stderr


def test_copy_input_files_leaves_the_users_file_alone(tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("original\n")
    wdl = tmp_path / "append.wdl"
    wdl.write_text(
        "version 1.1\ntask append { input { File f }\n"
        "  command <<< echo more >> ~{f}; cat ~{f} >>>\n"
        "  output { String out = read_string(stdout()) } }\n"
    )
    out = wdl2sfn("run", str(wdl), f"f={data}", "--copy-input-files", "-d", str(tmp_path / "r"))
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["append.out"] == "original\nmore"
    assert data.read_text() == "original\n"


def test_as_me_runs_tasks_as_the_invoking_user(tmp_path):
    wdl = tmp_path / "me.wdl"
    wdl.write_text(
        "version 1.1\ntask me { command <<< id -u >>> output { Int uid = read_int(stdout()) } }\n"
    )
    out = wdl2sfn("run", str(wdl), "--as-me", "-d", str(tmp_path))
    assert out.json["outputs"]["me.uid"] == os.getuid()


def test_as_me_puts_the_user_on_the_container_command_line(tmp_path):
    from wdl2sfn.backends.local.batch import LocalBatch

    batch = LocalBatch(log_dir=tmp_path)
    batch.runtime_exe = "/usr/bin/docker"
    batch.container_user = "1000:1000"
    job = {"jobId": "j", "container": {"image": "ubuntu:22.04", "resourceRequirements": []}}
    argv = batch.container_argv(job, 1, ["true"], [], [])
    assert argv[argv.index("--user") + 1] == "1000:1000"


def test_path_adds_an_import_folder(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "greet.wdl").write_text(
        "version 1.1\ntask greet { command <<< echo hi >>> output { String s = read_string(stdout()) } }\n"
    )
    main = tmp_path / "main.wdl"
    main.write_text('version 1.1\nimport "greet.wdl"\nworkflow main { call greet.greet }\n')
    missing = wdl2sfn("run", str(main), "-d", str(tmp_path / "r"))
    assert missing.code == 2 and "greet.wdl" in missing.last_line
    found = wdl2sfn("run", str(main), "-p", str(lib), "-d", str(tmp_path / "r"))
    assert found.code == 0, found.stderr


def test_rerun_script_runs_the_same_workflow_with_the_same_inputs(tmp_path):
    first = wdl2sfn("run", HELLO, "who=again", "-d", str(tmp_path), "--no-cache")
    rerun = first.run_dir / "rerun"
    assert os.access(rerun, os.X_OK)
    second = subprocess.run([str(rerun)], capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["outputs"] == first.json["outputs"]
    assert again["dir"] != first.json["dir"]


def test_debug_shows_the_traceback_of_an_unexpected_error(tmp_path):
    out = wdl2sfn("run", HELLO, "who=x", "-d", str(tmp_path))
    stderr_file = next(out.run_dir.glob("calls/*/stderr.txt"))
    stderr_file.unlink()
    stderr_file.mkdir()  # logs cannot read a folder: an unexpected error
    plain = wdl2sfn("logs", str(out.run_dir))
    assert plain.code == 1 and "Traceback" not in plain.stderr
    assert "--debug" in plain.last_line
    debug = wdl2sfn("--debug", "logs", str(out.run_dir))
    assert "Traceback" in debug.stderr
