"""Lock files on the shared store (task_runner/lock_file.py), used by the job-definition registry
and the download cache."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from wdl2sfn.task_runner.lock_file import older_than, take_lock


def test_a_free_lock_is_taken_and_names_its_holder(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    assert take_lock(lock, older_than(120))
    assert json.loads(lock.read_text()) == {"pid": os.getpid()}


def test_a_held_lock_is_not_taken_nor_broken(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    assert take_lock(lock, older_than(120))
    assert not take_lock(lock, older_than(120))
    assert lock.exists()


def test_an_abandoned_lock_is_removed_so_the_next_try_takes_it(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text("")
    old = time.time() - 300
    os.utime(lock, (old, old))
    assert not take_lock(lock, older_than(120))
    assert not lock.exists()
    assert take_lock(lock, older_than(120))
