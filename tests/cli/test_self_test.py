"""`wdl2sfn self-test` (local): what each check proves, printed; exit 0 only when all pass."""

from __future__ import annotations

import json
import os
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


def gpu_checks_agree_with_this_machine(done: subprocess.CompletedProcess[str]) -> None:
    """Both GPU checks pass only where a GPU is: the job's request alone is not "with a GPU"."""
    checks = {c["check"]: c for c in json.loads(done.stdout)["checks"]}
    has_gpu = shutil.which("nvidia-smi") is not None
    assert checks["a gpu: true task saw a GPU (nvidia-smi)"]["ok"] == has_gpu
    queue = checks["the task ran on the GPU queue with a GPU"]
    assert queue["ok"] == has_gpu, queue
    assert "wdl2sfn-gpu" in queue["detail"]
    assert done.returncode == (0 if has_gpu else 1)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_self_test_gpu_says_whether_the_task_saw_a_gpu(tmp_path: Path) -> None:
    gpu_checks_agree_with_this_machine(self_test("--gpu", "-d", str(tmp_path)))


def test_self_test_gpu_without_a_dir_runs_in_a_fresh_folder(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "wdl2sfn.cli", "self-test", "--gpu"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "TMPDIR": str(tmp_path)})  # fmt: skip
    gpu_checks_agree_with_this_machine(done)
    assert not (tmp_path / "_LAST").exists()  # the run went to a temporary folder
