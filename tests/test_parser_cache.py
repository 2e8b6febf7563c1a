"""The adapter keeps miniwdl's parser tables in a private cache (wdl.load, docs/limits.md
"Compile time"): each test loads in a fresh interpreter, as `wdl2sfn compile` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LOAD = "import sys; from wdl2sfn import wdl; wdl.load(sys.argv[1]); print('loaded')"
BAD = "version 1.1\nworkflow w {\n  Int x = \n}\n"
GOOD = 'version 1.1\nworkflow w {\n  String s = "hi"\n}\n'


def _load(tmp_path: Path, source: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "w.wdl"
    path.write_text(source)
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), **env}
    return subprocess.run(
        [sys.executable, "-c", LOAD, str(path)], env=environ, capture_output=True, text=True
    )


def _cache_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").glob("wdl2sfn/parser/lark-*.pickle"))


def test_the_first_load_writes_the_tables_to_a_private_folder(tmp_path: Path):
    assert _load(tmp_path, GOOD).stdout == "loaded\n"
    (cached,) = _cache_files(tmp_path)
    assert cached.stat().st_size > 10_000
    assert (cached.parent.stat().st_mode & 0o777) == 0o700


def test_a_later_load_reads_them_and_still_reports_line_and_column(tmp_path: Path):
    _load(tmp_path, GOOD)
    failed = _load(tmp_path, BAD)
    assert failed.returncode != 0
    assert "SyntaxError" in failed.stderr and "at line 4, column 1" in failed.stderr


def test_a_damaged_cache_file_is_rebuilt_not_fatal(tmp_path: Path):
    _load(tmp_path, GOOD)
    (cached,) = _cache_files(tmp_path)
    cached.write_bytes(cached.read_bytes()[:500])
    assert _load(tmp_path, GOOD).stdout == "loaded\n"
    assert cached.stat().st_size > 10_000


def test_the_setting_off_turns_the_cache_off(tmp_path: Path):
    assert _load(tmp_path, GOOD, WDL2SFN_PARSER_CACHE="off").stdout == "loaded\n"
    assert _cache_files(tmp_path) == []
