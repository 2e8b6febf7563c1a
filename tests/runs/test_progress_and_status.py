"""A run seen from outside: the live view names submitted jobs "running" where a backend counts
its processes (local) and "in Batch" where it cannot (AWS); status names folders absolutely."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

from wdl2sfn.runs.counter import CallCounts, RunCounter
from wdl2sfn.runs.progress import Progress, call_row, view_lines


def counter_with(call: CallCounts) -> RunCounter:
    counter = RunCounter()
    counter.calls[call.name] = call
    return counter


def test_a_local_view_says_running():
    lines = view_lines(counter_with(CallCounts("align", in_batch=2)), 1.0, 2, {})
    assert lines[-1].rstrip().endswith("running 2") and "in Batch" not in "".join(lines)


def test_an_aws_view_says_in_batch():
    lines = view_lines(counter_with(CallCounts("align", in_batch=2)), 1.0, None, {})
    assert lines[-1].rstrip().endswith("in Batch 2")


def test_a_row_names_submitted_jobs_as_told():
    assert call_row(CallCounts("t", in_batch=1), None, "running").endswith("running 1")


def test_status_names_the_run_folder_by_its_absolute_path(tmp_path, monkeypatch):
    from pathlib import Path

    from wdl2sfn.runs.status import run_summary

    (tmp_path / "runs" / "20260101_000000_w").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    summary = run_summary(Path("runs/20260101_000000_w"))
    assert summary["dir"] == str(tmp_path / "runs" / "20260101_000000_w")


class _SlowStream(io.StringIO):
    """A stream whose writes yield the processor, as a pipe's may: lines written by several
    threads come apart unless each is written whole."""

    def write(self, text: str) -> int:
        time.sleep(0)
        return super().write(text)

    def isatty(self) -> bool:
        return False


def test_lines_from_many_threads_are_printed_whole():
    stream = _SlowStream()
    progress = Progress(verbose=True, stream=stream)
    lines = [f"t (shard {i}): job submitted" for i in range(400)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(progress.note, lines))
    assert sorted(stream.getvalue().splitlines()) == sorted(lines)
