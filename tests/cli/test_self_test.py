"""`wdl2sfn self-test` (local): what each check proves, printed; exit 0 only when all pass."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path


def self_test(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wdl2sfn.cli", "self-test", *args],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_self_test_checks_a_file_a_scatter_and_a_gather(tmp_path: Path) -> None:
    done = self_test("-d", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    checks = json.loads(done.stdout)["checks"]
    assert [c["check"] for c in checks] == [
        "names read from a file",
        "a scatter greeted each name",
        "a gather wrote every greeting to one file",
    ]
    assert all(c["ok"] for c in checks)
    assert "self-test: ok   a scatter greeted each name: 3 shards" in done.stderr


def test_self_test_gpu_says_whether_the_task_saw_a_gpu(tmp_path: Path) -> None:
    done = self_test("--gpu", "-d", str(tmp_path))
    checks = {c["check"]: c["ok"] for c in json.loads(done.stdout)["checks"]}
    assert checks["the task ran on the GPU queue with a GPU"]
    saw = checks["a gpu: true task saw a GPU (nvidia-smi)"]
    assert saw == (shutil.which("nvidia-smi") is not None)
    assert done.returncode == (0 if saw else 1)
