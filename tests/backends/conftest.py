"""Fixtures for the local backend's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wdl2sfn.backends.local import LocalBatch


@pytest.fixture
def make_batch(tmp_path: Path) -> Any:
    made: list[LocalBatch] = []

    def make(**kwargs: Any) -> LocalBatch:
        kwargs.setdefault("log_dir", tmp_path / "logs")
        kwargs.setdefault("kill_grace_seconds", 1.0)
        kwargs.setdefault("cpus", 2)
        kwargs.setdefault("memory_mib", 4096)
        kwargs.setdefault("gpus", 0)
        b = LocalBatch(**kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.shutdown()
