#!/usr/bin/env python3
"""Benchmark: per-task overhead of wdl2sfn's local executor vs miniwdl (host backend).

Not a test. Generates a workflow with one scatter of N trivial tasks (`echo ~{i}`, output
`Int out = read_int(stdout())`) plus one gather task, then runs it, for each N, with

    wdl2sfn run WF -i INPUTS --dir D1 --no-cache
    python bench/miniwdl_host.py run WF -i INPUTS --dir D2      (call cache get/put off by env)

measuring wall time and checking both report the same outputs. Both engines use all cores by
default (wdl2sfn's local Batch: os.cpu_count() vCPUs; miniwdl: task_concurrency = nproc) and each
task asks for `cpu: 1`. It prints, per N: wdl2sfn seconds, miniwdl seconds, ratio
(wdl2sfn/miniwdl; goals, not asserted: <= 0.5 for these trivial tasks, <= 0.8 with --sleep 1),
and per-task overhead in ms for each engine (wall time / (N + 1) tasks; the commands themselves
cost ~1 ms of bash each).

    python bench/local_overhead.py [--sizes 200,1000,5000] [--repeat R] [--keep DIR]
    python bench/local_overhead.py --sizes 30 --sleep 1 --repeat 3     # 1-second tasks

With --sleep S each scatter task runs `sleep S` before its echo (the issue's second workload: 30
shards of 1-second tasks, where only the engines' scheduling differs; goal, not asserted: <= 0.8).

With --repeat R, each engine runs R times per N (alternating) and the median is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
WDL2SFN = shutil.which("wdl2sfn", path=str(VENV_BIN)) or "/work/main/.venv/bin/wdl2sfn"

WORKFLOW = """\
version 1.1

task echo_i {
  input {
    Int i
  }
  command <<<
    __SLEEP__echo ~{i}
  >>>
  output {
    Int out = read_int(stdout())
  }
  runtime {
    cpu: 1
  }
}

task gather {
  input {
    Array[Int] xs
  }
  command <<<
    echo $(( ~{sep(" + ", xs)} ))
  >>>
  output {
    Int total = read_int(stdout())
  }
  runtime {
    cpu: 1
  }
}

workflow scatter_overhead {
  input {
    Int n
  }
  scatter (i in range(n)) {
    call echo_i { input: i = i }
  }
  call gather { input: xs = echo_i.out }
  output {
    Array[Int] outs = echo_i.out
    Int total = gather.total
  }
}
"""


def run_engine(name: str, argv: list[str], env: dict[str, str], log: Path) -> tuple[float, dict]:
    """Run one engine; return (wall seconds, outputs). Raises RuntimeError on failure."""
    t0 = time.perf_counter()
    with open(log, "wb") as stderr:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=stderr, env=env)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(
            f"{name} exited {p.returncode}: {' '.join(argv)}\n  stderr ({log}):\n    "
            + "\n    ".join(tail)
        )
    try:
        outputs = json.loads(p.stdout)["outputs"]
    except (ValueError, KeyError) as exn:
        raise RuntimeError(f"{name}: unparseable stdout {p.stdout[:300]!r}") from exn
    return dt, outputs


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="200,1000,5000", help="comma-separated scatter sizes N")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine and N (median kept)")
    ap.add_argument("--sleep", type=float, default=0.0, help="seconds each scatter task sleeps")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the run folders")
    return ap.parse_args()


def _setup(args: argparse.Namespace) -> tuple[Path, Path, dict[str, str]]:
    """The work folder, the workflow written in it, and the engines' environment (miniwdl's
    call cache off, as wdl2sfn runs with --no-cache)."""
    work = Path(args.keep or tempfile.mkdtemp(prefix="wdl2sfn_bench_")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    wdl = work / "scatter_overhead.wdl"
    sleep = f"sleep {args.sleep:g}\n    " if args.sleep > 0 else ""
    wdl.write_text(WORKFLOW.replace("__SLEEP__", sleep))
    env = dict(os.environ)
    env.update(MINIWDL__CALL_CACHE__GET="false", MINIWDL__CALL_CACHE__PUT="false")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"# {os.cpu_count()} CPUs, load average {load} (other load skews timings); work dir {work}"
    )
    if args.sleep > 0:
        print(f"# each scatter task sleeps {args.sleep:g} s")
    return work, wdl, env


def _commands(n: int, r: int, wdl: Path, inputs: Path, work: Path) -> dict[str, list[str]]:
    return {
        "wdl2sfn": [WDL2SFN, "run", str(wdl), "-i", str(inputs)]
        + ["--dir", str(work / f"wdl2sfn_{n}_{r}"), "--no-cache"],
        "miniwdl": [sys.executable, str(HERE / "miniwdl_host.py"), "run", str(wdl)]
        + ["-i", str(inputs), "--dir", str(work / f"miniwdl_{n}_{r}")],
    }


def _measure(n: int, repeat: int, wdl: Path, work: Path, env: dict[str, str]) -> tuple:
    """(N, wdl2sfn median s, miniwdl median s, same outputs, first engine that failed):
    the engines interleaved run by run, so drifting load hits both alike."""
    inputs = work / f"inputs_{n}.json"
    inputs.write_text(json.dumps({"scatter_overhead.n": n}))
    times: dict[str, list[float]] = {"wdl2sfn": [], "miniwdl": []}
    outs: dict[str, dict | None] = {}
    error = None
    for r in range(repeat):
        for name, argv in _commands(n, r, wdl, inputs, work).items():
            if name in outs and outs[name] is None:
                continue  # this engine already failed at this N
            (work / f"{name}_{n}_{r}").mkdir(exist_ok=True)
            try:
                dt, outputs = run_engine(name, argv, env, work / f"{name}_{n}_{r}.stderr")
            except RuntimeError as exn:
                print(f"ERROR {exn}", file=sys.stderr, flush=True)
                outs[name], error = None, error or name
                continue
            times[name].append(dt)
            outs[name] = outputs
            print(f"# N={n} run {r + 1}: {name} {dt:.2f}s", file=sys.stderr, flush=True)
    same = outs.get("wdl2sfn") is not None and outs.get("wdl2sfn") == outs.get("miniwdl")
    for name, o in outs.items():
        if o is not None and o.get("scatter_overhead.total") != n * (n - 1) // 2:
            print(f"WARNING {name} total {o.get('scatter_overhead.total')}", file=sys.stderr)
            same = False
    med = {k: statistics.median(v) if v else None for k, v in times.items()}
    return (n, med["wdl2sfn"], med["miniwdl"], same, error)


def _fmt(x: float | None, spec: str) -> str:
    return format(x, spec) if x is not None else "-"


def _print_table(rows: list[tuple]) -> None:
    print(f"# load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    hdr = f"{'N':>6} {'wdl2sfn s':>10} {'miniwdl s':>10} {'ratio':>6} "
    hdr += f"{'wdl2sfn ms/task':>16} {'miniwdl ms/task':>16}  same outputs"
    print(hdr)
    for n, w, m, same, error in rows:
        ratio = w / m if w and m else None
        per_w = w * 1000 / (n + 1) if w else None
        per_m = m * 1000 / (n + 1) if m else None
        print(
            f"{n:>6} {_fmt(w, '10.2f')} {_fmt(m, '10.2f')} {_fmt(ratio, '6.2f')} "
            f"{_fmt(per_w, '16.1f')} {_fmt(per_m, '16.1f')}  "
            + ("yes" if same else f"NO{' (' + error + ' failed)' if error else ''}")
        )


def main() -> int:
    args = _args()
    work, wdl, env = _setup(args)
    rows = []
    for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
        rows.append(_measure(n, args.repeat, wdl, work, env))
        if not args.keep:
            for d in work.glob(f"*_{n}_*"):
                if d.is_dir():
                    shutil.rmtree(d, ignore_errors=True)
    _print_table(rows)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
