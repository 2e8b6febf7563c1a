"""Issue 13, inputs and sources: what a run starts from is checked before anything runs."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import SAMPLES
from .helpers import wdl2sfn

HELLO = SAMPLES / "hello" / "hello.wdl"

PASS_THROUGH = """version 1.0
workflow w {
  input { File f }
  output { File o = f }
}
"""


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[str]:
    """A local web server over tmp_path/www (absent files are 404)."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, *args):  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_unfetchable_url_input_no_call_uses_fails_the_run(tmp_path, http_root):
    wf = tmp_path / "w.wdl"
    wf.write_text(PASS_THROUGH)
    url = f"{http_root}/missing.txt"
    out = wdl2sfn("run", str(wf), f"f={url}", "--dir", str(tmp_path / "runs"))
    assert out.code == 1, out.stdout
    assert out.json["error"] == "WdlInputError"
    assert f"cannot download {url}" in out.last_line and "404" in out.last_line


def test_a_fetchable_url_input_passes_through(tmp_path, http_root):
    (tmp_path / "www" / "there.txt").write_text("here\n")
    wf = tmp_path / "w.wdl"
    wf.write_text(PASS_THROUGH)
    url = f"{http_root}/there.txt"
    out = wdl2sfn("run", str(wf), f"f={url}", "--dir", str(tmp_path / "runs"))
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {"w.o": url}


def test_a_corrupted_sources_bundle_is_recreated_not_trusted(tmp_path):
    root = tmp_path / "runs"
    first = wdl2sfn("run", str(HELLO), "--dir", str(root))
    assert first.code == 0, first.stderr
    (bundle,) = (root / ".wdl2sfn" / "_workflows").iterdir()
    (bundle / "hello.wdl").write_text("version 1.1\nworkflow hello { }\n")
    again = wdl2sfn("run", str(HELLO), "who=again", "--dir", str(root))
    assert again.code == 0, again.stderr
    assert again.json["outputs"] == {"hello.message": "Hello, again!"}
    assert (again.run_dir / "wdl" / "hello.wdl").read_text() == HELLO.read_text()
    assert (bundle / "hello.wdl").read_text() == HELLO.read_text()
