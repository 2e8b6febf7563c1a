"""`--container auto` (the default) takes the engine that answers, else the host with one notice;
`--container podman|docker` forced on a machine where it does not answer is exit 2 with the
engine's own message, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import IMAGE_UID, USER, cli, path_without

pytestmark = pytest.mark.usefixtures("images")

UID = """version 1.0
task uid {
  command <<< id -u >>>
  output { Int uid = read_int(stdout()) }
  runtime { docker: "@IMAGE@" }
}
"""


def uid_task(tmp_path: Path) -> str:
    wdl = tmp_path / "uid.wdl"
    wdl.write_text(UID.replace("@IMAGE@", USER))
    return str(wdl)


def test_auto_is_the_default_and_picks_podman_when_docker_has_no_daemon(tmp_path):
    # this machine's docker client has no daemon: auto asks it, then podman
    out = cli("run", uid_task(tmp_path), "-d", str(tmp_path / "r"), unset=("WDL2SFN_CONTAINER",))
    assert out.code == 0, out.stderr
    assert out.json["outputs"]["uid.uid"] == IMAGE_UID  # ran in the image, as its user
    assert "images are ignored" not in out.stderr


def test_auto_without_an_engine_runs_on_the_host_saying_so_once(tmp_path):
    path = path_without(tmp_path, "podman", "docker")
    out = cli(
        "run", uid_task(tmp_path), "-d", str(tmp_path / "r"), "--container", "auto",
        env={"PATH": path},
    )  # fmt: skip
    assert out.code == 0, out.stderr
    import os

    assert out.json["outputs"]["uid.uid"] == os.getuid()
    notices = [line for line in out.stderr.splitlines() if "images are ignored" in line]
    assert len(notices) == 1
    assert "no podman command on PATH" in notices[0] and "no docker command" in notices[0]


def test_a_forced_engine_that_is_not_installed_is_exit_2_naming_it(tmp_path):
    path = path_without(tmp_path, "podman")
    out = cli(
        "run", uid_task(tmp_path), "-d", str(tmp_path / "r"), "--container", "podman",
        env={"PATH": path},
    )  # fmt: skip
    assert out.code == 2
    assert out.last_line == "--container podman: no podman command on PATH"
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").glob("*/run.json"))


def test_a_forced_engine_that_does_not_answer_is_exit_2_with_its_own_message(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    podman = bindir / "podman"
    podman.write_text(
        "#!/bin/sh\necho 'Error: creating runtime: default OCI runtime \"crun\" not found' >&2\n"
        "exit 125\n"
    )
    podman.chmod(0o755)
    out = cli(
        "run", uid_task(tmp_path), "-d", str(tmp_path / "r"), "--container", "podman",
        env={"PATH": f"{bindir}:{path_without(tmp_path, 'podman')}"},
    )  # fmt: skip
    assert out.code == 2
    assert out.last_line == (
        "--container podman: podman is not usable: Error: creating runtime: default OCI "
        'runtime "crun" not found'
    )
