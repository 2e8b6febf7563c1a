"""A remote input is downloaded once per store however many prepares want it at once (issue 20,
item 5): the shards of a scatter are prepared in Lambda invocations of their own, and each used
to fetch the same object into the download cache. The first takes an O_EXCL lock beside the
cache entry; the others wait for the entry and reuse it. A lock whose holder is gone (a Lambda
invocation that timed out mid-download) is taken over once its folder stops changing."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from wdl2sfn.task_runner import download_lock as dl
from wdl2sfn.task_runner.localize import download

BODY = b"reads\n" * 1000


class _Slow(http.server.BaseHTTPRequestHandler):
    gets = 0

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        type(self).gets += 1
        time.sleep(0.5)  # long enough for every prepare to miss the cache at once
        self.do_HEAD()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Slow.gets = 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/sample.fastq"
    httpd.shutdown()


def test_six_prepares_at_once_download_a_remote_input_once(tmp_path: Path, server: str) -> None:
    with ThreadPoolExecutor(6) as pool:
        paths = list(pool.map(lambda _: download(server, tmp_path / "store"), range(6)))
    assert _Slow.gets == 1
    assert len(set(paths)) == 1
    assert Path(paths[0]).read_bytes() == BODY
    assert not list(Path(paths[0]).parent.glob(".*.lock"))


def test_a_lock_left_by_a_holder_that_is_gone_is_taken_over(tmp_path: Path) -> None:
    dest = tmp_path / "entry" / "sample.fastq"
    dest.parent.mkdir()
    lock = dest.parent / ".sample.fastq.lock"
    lock.write_text("")
    old = time.time() - 120
    os.utime(lock, (old, old))
    with dl.download_lock(dest, dest.is_file, stale_s=60, poll_s=0.01) as mine:
        assert mine
        dest.write_bytes(BODY)
    assert not lock.exists()


def test_a_waiter_reuses_what_the_live_holder_downloaded(tmp_path: Path) -> None:
    dest = tmp_path / "entry" / "sample.fastq"
    dest.parent.mkdir()
    (dest.parent / ".sample.fastq.lock").write_text("")  # held, fresh
    part = dest.parent / ".sample.fastq.part"

    def finish() -> None:  # as the holder does: the whole file, renamed into place
        part.write_bytes(BODY)
        os.replace(part, dest)

    threading.Timer(0.3, finish).start()
    with dl.download_lock(dest, dest.is_file, stale_s=60, poll_s=0.01) as mine:
        assert not mine
    assert dest.read_bytes() == BODY
