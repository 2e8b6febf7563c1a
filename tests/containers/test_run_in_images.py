"""`wdl2sfn run --container podman`: each task runs in the image its runtime names, pulled from a
registry, with what an AWS Batch job would get: the run folder at the same path, the image's own
user and environment, the task's environment, a TMPDIR of its own (docs/containers.md)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import BASE, IMAGE_GREETING, IMAGE_UID, NOBASH, PULL, REGISTRY, USER, cli

pytestmark = pytest.mark.usefixtures("images")

SCATTER = """version 1.1
workflow numbers {
  input { Int n }
  scatter (i in range(n)) { call square { input: x = i } }
  call total { input: values = square.y }
  output { Array[Int] squares = square.y  Int sum = total.sum  File listing = total.listing }
}
task square {
  input { Int x }
  command <<< echo $(( ~{x} * ~{x} )) >>>
  output { Int y = read_int(stdout()) }
  runtime { docker: "@IMAGE@" cpu: 1 memory: "64 MiB" }
}
task total {
  input { Array[Int] values }
  command <<<
    s=0; for v in ~{sep(" ", values)}; do s=$((s + v)); done; echo $s
    printf '%s\\n' ~{sep(" ", values)} | sort -n | tr '\\n' ' ' > listing.txt
  >>>
  output { Int sum = read_int(stdout())  File listing = "listing.txt" }
  runtime { docker: "@IMAGE@" }
}
"""

WHO = """version 1.0
workflow who {
  input { String host_file }
  scatter (i in [1, 2]) { call whoami { input: host_file = host_file } }
  output { Array[Array[String]] seen = whoami.seen }
}
task whoami {
  input { String host_file }
  command <<<
    echo "uid=$(id -u)"
    echo "greeting=${IMAGE_GREETING:-none}"
    echo "given=${GIVEN:-none}"
    echo "tmpdir=$TMPDIR"
    echo "host_file=$(test -e "$TMPDIR/~{host_file}" && echo seen || echo absent)"
    echo "shard_file=$(test -e "$TMPDIR/left-by-a-shard" && echo seen || echo absent)"
    touch "$TMPDIR/left-by-a-shard"
  >>>
  output { Array[String] seen = read_lines(stdout()) }
  runtime { docker: "@IMAGE@" }
}
"""


def write(tmp_path: Path, text: str, image: str, name: str = "wf.wdl") -> str:
    wdl = tmp_path / name
    wdl.write_text(text.replace("@IMAGE@", image))
    return str(wdl)


def seen(out_json: dict) -> list[dict[str, str]]:
    return [dict(line.split("=", 1) for line in shard) for shard in out_json["outputs"]["who.seen"]]


def test_a_scatter_in_a_registry_image_gives_the_outputs_it_gives_on_the_host(tmp_path):
    wdl = write(tmp_path, SCATTER, BASE)
    contained = cli("run", wdl, "n=5", "-d", str(tmp_path / "podman"), "--container", "podman")
    on_host = cli("run", wdl, "n=5", "-d", str(tmp_path / "host"), "--container", "host")
    assert contained.code == 0, contained.stderr
    assert on_host.code == 0, on_host.stderr
    outputs, host_outputs = contained.json["outputs"], on_host.json["outputs"]
    assert outputs["numbers.squares"] == host_outputs["numbers.squares"] == [0, 1, 4, 9, 16]
    assert outputs["numbers.sum"] == host_outputs["numbers.sum"] == 30
    assert Path(outputs["numbers.listing"]).read_text() == "0 1 4 9 16 "
    assert Path(host_outputs["numbers.listing"]).read_text() == "0 1 4 9 16 "


@pytest.fixture
def host_tmp_file() -> Iterator[str]:
    """A file in this machine's temp folder: a task's private TMPDIR does not show it."""
    with tempfile.NamedTemporaryFile(prefix="wdl2sfn-host-only-") as f:
        yield os.path.basename(f.name)


def test_a_task_runs_as_its_images_user_with_its_environment_and_a_private_tmpdir(
    tmp_path, host_tmp_file
):
    wdl = write(tmp_path, WHO, USER)
    out = cli(
        "run", wdl, f"host_file={host_tmp_file}", "-d", str(tmp_path / "r"),
        "--container", "podman", "--env", "GIVEN=by-run",
    )  # fmt: skip
    assert out.code == 0, out.stderr
    for shard in seen(out.json):
        assert shard["uid"] == str(IMAGE_UID)
        assert shard["greeting"] == IMAGE_GREETING
        assert shard["given"] == "by-run"
        assert shard["tmpdir"] == "/tmp"  # the container's own, as on AWS without a scratch volume
        assert shard["host_file"] == "absent"
        assert shard["shard_file"] == "absent"  # not even the other shard's


def test_as_me_runs_the_image_as_the_invoking_user(tmp_path):
    wdl = write(tmp_path, WHO, USER)
    out = cli(
        "run", wdl, "host_file=x", "-d", str(tmp_path / "r"), "--container", "podman", "--as-me"
    )
    assert out.code == 0, out.stderr
    assert {shard["uid"] for shard in seen(out.json)} == {str(os.getuid())}


def test_a_missing_image_fails_the_call_naming_it_before_its_command(tmp_path):
    absent = f"{REGISTRY}/absent:404"
    wdl = write(tmp_path, SCATTER, absent)
    out = cli("run", wdl, "n=1", "-d", str(tmp_path / "r"), "--container", "podman")
    assert out.code == 1
    assert absent in out.last_line
    assert "CannotPullContainerError: podman pull" in out.last_line
    assert "manifest unknown" in out.last_line  # the engine's own words
    error = json.loads(out.stdout)
    call_dir = Path(error["call_dir"])
    assert not (call_dir / "rc").exists() and not (call_dir / "stdout.txt").exists()


def test_an_image_without_bash_fails_the_call_as_a_container_that_cannot_start(tmp_path):
    wdl = write(tmp_path, SCATTER, NOBASH)
    out = cli("run", wdl, "n=1", "-d", str(tmp_path / "r"), "--container", "podman")
    assert out.code == 1
    assert "Task failed to start; CannotStartContainerError: Error: " in out.last_line
    assert 'exec: "bash": executable file not found' in out.last_line  # the engine's words


def test_an_image_not_here_yet_is_pulled_with_a_line_on_the_progress(tmp_path):
    subprocess.run(["podman", "rmi", "-i", PULL], capture_output=True, timeout=120)
    wdl = write(tmp_path, SCATTER, PULL)
    out = cli("run", wdl, "n=3", "-d", str(tmp_path / "r"), "--container", "podman")
    assert out.code == 0, out.stderr
    assert out.stderr.count(f"pulling {PULL} with podman") == 1  # once for the three shards
    assert f"pulled {PULL} in " in out.stderr
    assert out.json["outputs"]["numbers.sum"] == 5
