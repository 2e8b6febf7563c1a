"""Input localization: links, fallbacks, copies, S3 (moto) and HTTP downloads."""

from __future__ import annotations

import errno
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import WDL
from moto import mock_aws

from wdl2sfn.task_runner import localize
from wdl2sfn.task_runner.errors import WdlInputError


def env_of(**files: str) -> WDL.Env.Bindings[WDL.Value.Base]:
    env: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    for name, path in files.items():
        env = env.bind(name, WDL.Value.File(path))
    return env


def test_hard_link_falls_back_to_symlink_across_file_systems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "a.txt"
    src.write_text("A")

    def no_link(*_a: Any, **_k: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    out = localize.localize_inputs(env_of(f=str(src)), tmp_path / "call", tmp_path / "store")
    dest = Path(out["f"].value)
    assert dest == tmp_path / "call/inputs/0/a.txt"
    assert dest.is_symlink() and dest.read_text() == "A"
    assert not os.path.samefile(dest, src)  # a link to the run's read-only copy, not to yours


def test_contained_file_is_copied_when_it_cannot_be_hard_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task that sees only its run folder (docker/podman, AWS) cannot follow a symlink out of
    it: across file systems the input is copied into the call folder, and made read-only."""
    src = tmp_path / "a.txt"
    src.write_text("A")

    def no_link(*_a: Any, **_k: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    out = localize.localize_inputs(
        env_of(f=str(src)), tmp_path / "call", tmp_path / "store", contained=True
    )
    dest = Path(out["f"].value)
    assert dest == tmp_path / "call/inputs/0/a.txt"
    assert not dest.is_symlink() and dest.read_text() == "A"
    assert not os.stat(dest).st_mode & 0o222
    assert os.stat(src).st_mode & 0o200  # the user's own file keeps its mode


def test_contained_relocalization_replaces_an_earlier_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call first prepared for the host (a symlink), then again for a container."""
    src = tmp_path / "a.txt"
    src.write_text("A")
    dest = tmp_path / "call/inputs/0/a.txt"
    dest.parent.mkdir(parents=True)
    dest.symlink_to(src)
    localize.localize_inputs(env_of(f=str(src)), tmp_path / "call", tmp_path / "s", contained=True)
    assert not dest.is_symlink() and dest.read_text() == "A"  # a hard link (of the run's copy)


def test_copy_input_files_makes_an_independent_copy(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("A")
    out = localize.localize_inputs(
        env_of(f=str(src)), tmp_path / "call", tmp_path / "store", copy=True
    )
    dest = Path(out["f"].value)
    assert dest.read_text() == "A" and not dest.is_symlink()
    assert os.stat(dest).st_ino != os.stat(src).st_ino


def test_same_source_twice_is_localized_once(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("A")
    out = localize.localize_inputs(env_of(f=str(src), g=str(src)), tmp_path / "c", tmp_path / "s")
    assert out["f"].value == out["g"].value
    assert os.listdir(tmp_path / "c" / "inputs") == ["0"]


def test_a_users_file_is_never_linked_itself_but_a_read_only_copy_once_per_run(
    tmp_path: Path,
) -> None:
    """Issue 24 item 4: a hard link is the user's inode, so a task appending to its input would
    change the user's file. Every call of a run links the run's one read-only copy instead."""
    src = tmp_path / "a.txt"
    src.write_text("A")
    src.chmod(0o644)
    run = tmp_path / "s" / "run1"
    (run / "calls").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    one = localize.localize_inputs(env_of(f=str(src)), run / "calls/x", tmp_path / "s")
    two = localize.localize_inputs(env_of(f=str(src)), run / "calls/y", tmp_path / "s")
    assert os.path.samefile(one["f"].value, two["f"].value)
    assert not os.path.samefile(one["f"].value, src) and src.stat().st_nlink == 1
    assert os.stat(one["f"].value).st_mode & 0o222 == 0 and src.stat().st_mode & 0o777 == 0o644
    assert [p.parent.parent.name for p in run.rglob("a.txt") if "calls" not in p.parts] == [
        "_inputs"
    ]


def test_relocalizing_is_idempotent(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("A")
    first = localize.localize_inputs(env_of(f=str(src)), tmp_path / "c", tmp_path / "s")
    ino = os.stat(first["f"].value).st_ino
    second = localize.localize_inputs(env_of(f=str(src)), tmp_path / "c", tmp_path / "s")
    assert second["f"].value == first["f"].value
    assert os.stat(second["f"].value).st_ino == ino
    assert sorted(os.listdir(tmp_path / "c/inputs/0")) == ["a.txt"]  # no temp leftovers


def _dir_env(d: Path) -> WDL.Env.Bindings[WDL.Value.Base]:
    env: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    return env.bind("d", WDL.Value.Directory(str(d)))


def test_directory_input_is_a_real_folder_of_hard_links(tmp_path: Path) -> None:
    """Not one symlink: `find DIR -type f` does not follow a symlink named as its start."""
    d = tmp_path / "ref"
    (d / "sub").mkdir(parents=True)
    (d / "sub/x").write_text("x")
    out = localize.localize_inputs(_dir_env(d), tmp_path / "c", tmp_path / "s")
    dest = Path(out["d"].value)
    assert dest == tmp_path / "c/inputs/0/ref" and not dest.is_symlink()
    assert os.path.samefile(dest / "sub/x", d / "sub/x") and not (dest / "sub/x").is_symlink()


def test_host_directory_input_keeps_links_that_lead_out_of_it(tmp_path: Path) -> None:
    """On the host the task sees the host anyway: a user's folder of absolute links works."""
    (tmp_path / "genome.fa").write_text(">chr1")
    d = tmp_path / "ref"
    d.mkdir()
    (d / "genome.fa").symlink_to(tmp_path / "genome.fa")
    (d / "own.txt").write_text("own")
    (d / "again.txt").symlink_to("own.txt")
    out = localize.localize_inputs(_dir_env(d), tmp_path / "c", tmp_path / "s")
    dest = Path(out["d"].value)
    assert (dest / "genome.fa").read_text() == ">chr1"
    assert os.readlink(dest / "again.txt") == "own.txt"  # inside: the copy's own file


def test_contained_directory_input_refuses_links_that_lead_out_of_it(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    d = tmp_path / "ref"
    d.mkdir()
    (d / "out").symlink_to(tmp_path / "secret")
    with pytest.raises(WdlInputError, match="out -> .*points outside the Directory"):
        localize.localize_inputs(_dir_env(d), tmp_path / "c", tmp_path / "s", contained=True)


def test_directory_placed_as_a_symlink_by_an_earlier_prepare_is_rebuilt(tmp_path: Path) -> None:
    d = tmp_path / "ref"
    d.mkdir()
    (d / "x").write_text("x")
    (tmp_path / "c/inputs/0").mkdir(parents=True)
    (tmp_path / "c/inputs/0/ref").symlink_to(d)
    out = localize.localize_inputs(_dir_env(d), tmp_path / "c", tmp_path / "s")
    dest = Path(out["d"].value)
    assert not dest.is_symlink() and (dest / "x").read_text() == "x"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bkt")
        yield client


def test_s3_file_is_downloaded_once_into_the_content_keyed_cache(tmp_path: Path, s3: Any) -> None:
    s3.put_object(Bucket="bkt", Key="dir/reads.fq", Body=b"ACGT")
    uri = "s3://bkt/dir/reads.fq"
    out1 = localize.localize_inputs(env_of(f=uri), tmp_path / "c1", tmp_path / "store")
    dest = Path(out1["f"].value)
    assert dest == tmp_path / "c1/inputs/0/reads.fq" and dest.read_bytes() == b"ACGT"
    cached = [p for p in (tmp_path / "store/.wdl2sfn/_DOWNLOADS").rglob("reads.fq")]
    assert len(cached) == 1 and os.stat(cached[0]).st_ino == os.stat(dest).st_ino
    # a second call reuses the download (same inode), a changed object is fetched again
    out2 = localize.localize_inputs(env_of(f=uri), tmp_path / "c2", tmp_path / "store")
    assert os.stat(out2["f"].value).st_ino == os.stat(cached[0]).st_ino
    s3.put_object(Bucket="bkt", Key="dir/reads.fq", Body=b"TTTT")
    out3 = localize.localize_inputs(env_of(f=uri), tmp_path / "c3", tmp_path / "store")
    assert Path(out3["f"].value).read_bytes() == b"TTTT"
    assert Path(out1["f"].value).read_bytes() == b"ACGT"


def test_s3_directory_is_downloaded(tmp_path: Path, s3: Any) -> None:
    s3.put_object(Bucket="bkt", Key="ref/a.txt", Body=b"a")
    s3.put_object(Bucket="bkt", Key="ref/sub/b.txt", Body=b"b")
    env: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    env = env.bind("d", WDL.Value.Directory("s3://bkt/ref/"))
    out = localize.localize_inputs(env, tmp_path / "c", tmp_path / "store")
    d = Path(out["d"].value)
    assert (d / "a.txt").read_text() == "a" and (d / "sub/b.txt").read_text() == "b"


def test_missing_s3_object_is_an_input_error(tmp_path: Path, s3: Any) -> None:
    with pytest.raises(WdlInputError, match="cannot download s3://bkt/nope"):
        localize.localize_inputs(env_of(f="s3://bkt/nope"), tmp_path / "c", tmp_path / "s")


class _Handler(http.server.BaseHTTPRequestHandler):
    failures_left = 0
    gets = 0

    def do_HEAD(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", "5")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        cls = type(self)
        if cls.failures_left > 0:
            cls.failures_left -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.gets += 1
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    _Handler.failures_left = 0
    _Handler.gets = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_download_retries_server_errors_and_caches(
    tmp_path: Path, http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localize.time, "sleep", lambda s: None)
    _Handler.failures_left = 2
    uri = f"{http_server}/files/greeting.txt"
    out = localize.localize_inputs(env_of(f=uri), tmp_path / "c1", tmp_path / "store")
    assert Path(out["f"].value).read_bytes() == b"hello"
    assert Path(out["f"].value).name == "greeting.txt"
    localize.localize_inputs(env_of(f=uri), tmp_path / "c2", tmp_path / "store")
    assert _Handler.gets == 1


def test_http_download_gives_up_after_retries(
    tmp_path: Path, http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localize.time, "sleep", lambda s: None)
    _Handler.failures_left = 100
    with pytest.raises(WdlInputError, match="cannot download"):
        localize.localize_inputs(env_of(f=f"{http_server}/x"), tmp_path / "c", tmp_path / "s")
    assert not list((tmp_path / "s").rglob("x"))  # nothing partial left under the real name
