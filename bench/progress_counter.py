#!/usr/bin/env python3
"""Benchmark: what the run counter (live view, `status`) costs per history event.

Not a test. Reads every history of a finished run folder (or makes one: a scatter of N trivial
tasks run with `wdl2sfn run`), feeds the events to RunCounter as the executor does, and prints
events per second and microseconds per event next to the run's own wall time per event, so the
counter's share of a local run is visible.

    python bench/progress_counter.py [--run RUN_DIR | --shards N] [--repeat R]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wdl2sfn.runs.counter import RunCounter
from wdl2sfn.runs.failure import execution_histories
from wdl2sfn.statemachine.history import read_events

WDL = """version 1.1
workflow wide {
  input { Int n }
  scatter (i in range(n)) { call t { input: i = i } }
  output { Array[Int] outs = t.out }
}
task t { input { Int i } command <<< echo ~{i} >>> output { Int out = read_int(stdout()) } }
"""


def make_run(shards: int, folder: Path) -> tuple[Path, float]:
    wdl = folder / "wide.wdl"
    wdl.write_text(WDL)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", "run", str(wdl), f"n={shards}", "-d", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    return Path(out.stdout.split('"dir": "', 1)[1].split('"', 1)[0]), wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=Path)
    parser.add_argument("--shards", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    wall = None
    if args.run is None:
        args.run, wall = make_run(args.shards, Path(tempfile.mkdtemp(prefix="wdl2sfn-bench-")))
    events = [(str(h.parent), e) for h in execution_histories(args.run) for e in read_events(h)]
    best = float("inf")
    for _ in range(args.repeat):
        counter = RunCounter()
        started = time.perf_counter()
        for execution, event in events:
            counter.add(execution, event)
        best = min(best, time.perf_counter() - started)
    totals = counter.totals()
    print(f"run: {args.run}")
    print(f"events: {len(events)}; tasks done {totals.done}, cached {totals.cached}")
    print(
        f"counter: {best:.3f} s, {len(events) / best:,.0f} events/s, {1e6 * best / len(events):.1f} us/event"
    )
    if wall is not None:
        print(
            f"the run itself: {wall:.2f} s, {1e6 * wall / len(events):.1f} us/event "
            f"(counter share {100 * best / wall:.1f}%)"
        )


if __name__ == "__main__":
    main()
