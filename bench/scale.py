#!/usr/bin/env python3
"""Benchmark: wide scatters run locally against the Step Functions quotas.

Not a test. For each N in --sizes it writes a workflow with one scatter of N trivial tasks
(`echo ~{i}`, `Int out = read_int(stdout())`), compiles it (`wdl2sfn compile --report-json`, for
the compiler's predicted events per child execution) and runs it

    /usr/bin/time -v wdl2sfn run --no-cache --dir D WF n=N [--max-concurrency C]

then reads EVERY history.jsonl under the run folder (the parent execution and each Distributed Map
child under map_runs/...) and prints, per run:

* wall time and peak RSS of the wdl2sfn process (GNU time's "Maximum resident set size");
* executions (history.jsonl files) and the largest event count of any one of them, against the
  25,000-event quota, next to the compiler's prediction for the largest child;
* the peak state payload: the longest stateEnteredEventDetails.input /
  stateExitedEventDetails.output of any event, against 262,144 bytes (and, for information, the
  longest payload-like field of any event: task parameters, task outputs, execution input);
* state transitions (every *StateEntered event) per shard;

and checks that outputs.json holds every shard's value.

With --nested (default 300x300; `--nested none` skips it) it also runs a scatter nested in a
scatter. `--analyze RUN_DIR [--shards N]` only reads the histories of an existing (possibly still
running) run folder, for a run started by hand or in the background.

    python bench/scale.py [--sizes 1000,10000,100000] [--nested 300x300|none]
                          [--max-concurrency 80] [--nested-max-concurrency 10] [--keep DIR]
    python bench/scale.py --analyze /path/to/run/<run name> --shards 100000 [--stderr FILE]

Why a concurrency cap by default: with the compiler's AWS defaults (Distributed Map
MaxConcurrency 1000, inline batch Map 40) a 100,000-shard scatter puts 200 x 40 = 8,000 jobs in
flight; the local Batch on 2 cores then spends its time waking waiting threads (measured:
~1.6 jobs/s). The cap (`wdl2sfn run --max-concurrency`) keeps the in-flight jobs near the core
count, which changes neither the number of executions nor the events per execution. Pass
--max-concurrency 0 for the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
WDL2SFN = shutil.which("wdl2sfn", path=str(VENV_BIN)) or "wdl2sfn"
GNU_TIME = "/usr/bin/time"
EVENT_LIMIT = 25_000
PAYLOAD_LIMIT = 262_144
SKIP_DIRS = {"calls", "_batch_logs", "_values", "_map_results", "wdl", "_workflows"}

FLAT = (
    Path(__file__).resolve().parent.parent / "sample_wdl" / "wide_scatter" / "wide_scatter.wdl"
).read_text()

NESTED = """\
version 1.1

task t {
  input {
    Int i
    Int j
  }
  command <<<
    echo $(( ~{i} * 1000 + ~{j} ))
  >>>
  output {
    Int out = read_int(stdout())
  }
  runtime {
    cpu: 1
  }
}

workflow scatter_nested {
  input {
    Int n
    Int m
  }
  scatter (i in range(n)) {
    scatter (j in range(m)) {
      call t { input: i = i, j = j }
    }
  }
  output {
    Array[Array[Int]] outs = t.out
  }
}
"""


@dataclass
class Histories:
    executions: int = 0
    max_events: int = 0
    max_events_file: str = ""
    root_events: int = 0
    max_state_payload: int = 0
    max_any_payload: int = 0
    state_entered: int = 0
    by_type: Counter = field(default_factory=Counter)
    children_events: list[int] = field(default_factory=list)
    open_executions: int = 0  # no ExecutionSucceeded/Failed/Aborted yet


_PAYLOAD_KEYS = ("input", "output", "parameters")


def read_histories(run_dir: Path) -> Histories:
    """Read every history.jsonl under run_dir (pruning the store's big value/log folders)."""
    h = Histories()
    for dirpath, dirnames, filenames in os.walk(run_dir):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        if "history.jsonl" not in filenames:
            continue
        path = Path(dirpath) / "history.jsonl"
        n = 0
        closed = False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                ev = json.loads(line)
                n += 1
                typ = ev["type"]
                h.by_type[typ] += 1
                if typ.endswith("StateEntered"):
                    h.state_entered += 1
                if typ in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted"):
                    closed = True
                for key, details in ev.items():
                    if not key.endswith("EventDetails") or not isinstance(details, dict):
                        continue
                    for k in _PAYLOAD_KEYS:
                        v = details.get(k)
                        if isinstance(v, str):
                            size = len(v.encode("utf-8"))
                            h.max_any_payload = max(h.max_any_payload, size)
                            if (key == "stateEnteredEventDetails" and k == "input") or (
                                key == "stateExitedEventDetails" and k == "output"
                            ):
                                h.max_state_payload = max(h.max_state_payload, size)
        h.executions += 1
        if not closed:
            h.open_executions += 1
        if path.parent == run_dir:
            h.root_events = n
        else:
            h.children_events.append(n)
        if n > h.max_events:
            h.max_events, h.max_events_file = n, str(path.relative_to(run_dir))
    return h


def gnu_time_figures(stderr_text: str) -> tuple[float | None, int | None]:
    """(wall seconds, max RSS KiB) from `/usr/bin/time -v` output."""
    wall = rss = None
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr_text)
    if m:
        parts = [float(p) for p in m.group(1).split(":")]
        wall = 0.0
        for p in parts:
            wall = wall * 60 + p
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr_text)
    if m:
        rss = int(m.group(1))
    return wall, rss


def compile_report(wdl: Path, max_conc: int, workdir: Path) -> dict:
    rep = workdir / (wdl.stem + ".report.json")
    cmd = [WDL2SFN, "compile", str(wdl), "-o", os.devnull, "--report-json", str(rep)]
    if max_conc:
        cmd += ["--max-concurrency", str(max_conc)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads(rep.read_text())


def run(wdl: Path, inputs: list[str], max_conc: int, store: Path) -> tuple[int, str, float]:
    cmd = [WDL2SFN, "run", "--no-cache", "--dir", str(store)]
    if max_conc:
        cmd += ["--max-concurrency", str(max_conc)]
    cmd += [str(wdl), *inputs]
    if os.path.exists(GNU_TIME):
        cmd = [GNU_TIME, "-v", *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc.returncode, proc.stderr, time.perf_counter() - t0


def run_dir_of(store: Path) -> Path:
    runs = [p for p in store.iterdir() if p.is_dir() and not p.name.startswith("_")]
    assert len(runs) == 1, runs
    return runs[0]


def outputs_ok(run_dir: Path, label: str, shards: int) -> bool | None:
    """Whether the run's outputs.json holds every shard's value (None: no outputs.json)."""
    path = run_dir / "outputs.json"
    if not path.exists():
        return None
    (outs,) = json.loads(path.read_text()).values()
    if label.startswith("nested"):
        n = len(outs)
        m = shards // n if n else 0
        return outs == [[i * 1000 + j for j in range(m)] for i in range(n)]
    return outs == list(range(shards))


def row(label: str, shards: int, wall, rss_kib, rc, h: Histories, predicted: int | None) -> dict:
    return {
        "run": label,
        "shards": shards,
        "rc": rc,
        "wall_s": wall,
        "peak_rss_mib": rss_kib / 1024 if rss_kib else None,
        "executions": h.executions,
        "open_executions": h.open_executions,
        "root_events": h.root_events,
        "max_events": h.max_events,
        "max_events_file": h.max_events_file,
        "predicted_child_events": predicted,
        "max_state_payload": h.max_state_payload,
        "max_any_payload": h.max_any_payload,
        "state_entered": h.state_entered,
        "tasks_done": h.by_type.get("MapIterationSucceeded", 0),
    }


def print_table(rows: list[dict]) -> None:
    hdr = (
        f"{'run':<14} {'shards':>7} {'rc':>3} {'wall s':>8} {'ms/shard':>8} {'RSS MiB':>8} "
        f"{'execs':>6} {'max events':>10} {'predicted':>9} {'/25,000':>7} "
        f"{'state payload B':>15} {'/262,144':>8} {'any payload B':>13} {'transitions/shard':>17}"
    )
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        wall = f"{r['wall_s']:.1f}" if r["wall_s"] is not None else "-"
        ms = f"{1000 * r['wall_s'] / r['shards']:.1f}" if r["wall_s"] is not None else "-"
        rss = f"{r['peak_rss_mib']:.0f}" if r["peak_rss_mib"] is not None else "-"
        pred = r["predicted_child_events"] if r["predicted_child_events"] is not None else "-"
        per_shard = r["state_entered"] / r["shards"] if r["shards"] else 0
        print(
            f"{r['run']:<14} {r['shards']:>7} {r['rc'] if r['rc'] is not None else '-':>3} "
            f"{wall:>8} {ms:>8} {rss:>8} {r['executions']:>6} {r['max_events']:>10} {pred:>9} "
            f"{r['max_events'] / EVENT_LIMIT:>7.1%} {r['max_state_payload']:>15} "
            f"{r['max_state_payload'] / PAYLOAD_LIMIT:>8.2%} {r['max_any_payload']:>13} "
            f"{per_shard:>17.2f}"
        )
        if r.get("outputs_ok") is False:
            print("  OUTPUTS WRONG: outputs.json does not hold every shard's value")
        if r["open_executions"]:
            print(
                f"  ({r['open_executions']} executions not finished; {r['tasks_done']} shards done)"
            )
    print(f"  largest histories: {', '.join(r['max_events_file'] for r in rows)}")


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--nested", default="300x300", help="NxM, or 'none' to skip")
    ap.add_argument("--max-concurrency", type=int, default=80)
    ap.add_argument("--nested-max-concurrency", type=int, default=10)
    ap.add_argument("--keep", help="keep workflows and run folders here (default: temp, removed)")
    ap.add_argument("--analyze", help="only read the histories of this run folder")
    ap.add_argument("--shards", type=int, default=0, help="with --analyze: the scatter width")
    ap.add_argument("--stderr", help="with --analyze: the run's `/usr/bin/time -v` stderr file")
    ap.add_argument("--json", help="also write the rows here")
    return ap.parse_args()


def _analyze(args: argparse.Namespace) -> dict:
    """The row of a run made elsewhere (e.g. under `/usr/bin/time -v` by hand)."""
    run_dir = Path(args.analyze)
    t0 = time.perf_counter()
    h = read_histories(run_dir)
    print(f"# read {h.executions} histories in {time.perf_counter() - t0:.1f} s")
    wall = rss = None
    if args.stderr:
        wall, rss = gnu_time_figures(Path(args.stderr).read_text(errors="replace"))
    return row(run_dir.name[:14], args.shards, wall, rss, None, h, None)


def _jobs(args: argparse.Namespace) -> list[tuple[str, str, int, list[str], int]]:
    """(label, WDL, shards, inputs, max concurrency) of each run to make."""
    jobs = [
        (f"flat {n}", FLAT, n, [f"n={n}"], args.max_concurrency)
        for n in [int(s) for s in args.sizes.split(",") if s]
    ]
    if args.nested != "none":
        a, b = (int(x) for x in args.nested.lower().split("x"))
        jobs.append(
            (f"nested {a}x{b}", NESTED, a * b, [f"n={a}", f"m={b}"], args.nested_max_concurrency)
        )
    return jobs


def _run_one(job: tuple[str, str, int, list[str], int], workdir: Path, keep: bool) -> dict:
    """Compile (for the predicted events), run under `/usr/bin/time -v`, read the histories."""
    label, text, shards, inputs, conc = job
    tag = label.replace(" ", "_")
    wdl = workdir / f"{tag}.wdl"
    wdl.write_text(text)
    rep = compile_report(wdl, conc, workdir)
    predicted = max(s["child_execution_events"] for s in rep["history"]["scatters"])
    store = workdir / f"{tag}.store"
    rc, err, wall_py = run(wdl, inputs, conc, store)
    wall, rss = gnu_time_figures(err)
    if rc != 0:
        print(f"# {label}: wdl2sfn run exited {rc}: {err[-2000:]}", file=sys.stderr)
    t0 = time.perf_counter()
    h = read_histories(run_dir_of(store))
    read_s = time.perf_counter() - t0
    r = row(label, shards, wall if wall is not None else wall_py, rss, rc, h, predicted)
    r["outputs_ok"] = outputs_ok(run_dir_of(store), label, shards)
    print(
        f"# {label}: {wall if wall is not None else wall_py:.1f} s, read {h.executions} "
        f"histories in {read_s:.1f} s; events by type: {dict(h.by_type)}",
        flush=True,
    )
    if not keep:
        shutil.rmtree(store, ignore_errors=True)
    return r


def main() -> None:
    args = _args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} {os.cpu_count()} cores, load {os.getloadavg()}")
    if args.analyze:
        rows = [_analyze(args)]
    else:
        workdir = Path(args.keep or tempfile.mkdtemp(prefix="wdl2sfn-scale-bench-"))
        workdir.mkdir(parents=True, exist_ok=True)
        rows = [_run_one(job, workdir, bool(args.keep)) for job in _jobs(args)]
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
