#!/usr/bin/env python3
"""Benchmark: start-up of the `wdl2sfn` CLI against `miniwdl`, side by side.

Not a test. Interleaves R runs of each pair and prints the medians and the ratio
(wdl2sfn / miniwdl; goal, not asserted: <= 1.0):

    wdl2sfn --help                                    miniwdl --help
    wdl2sfn run hello.wdl -i inputs.json --dir D      python bench/miniwdl_host.py run hello.wdl
                                                          -i inputs.json --dir D

(`sample_wdl/hello`: one task, `echo`; miniwdl on its host-subprocess backend,
bench/miniwdl_host.py, since no container engine runs here; call cache off for both). With
--importtime it also prints the modules each wdl2sfn command imports and the slowest of them
(`python -X importtime`), to see what a command loads that it does not need.

    python bench/startup.py [--repeat 7] [--importtime]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
WDL2SFN = shutil.which("wdl2sfn", path=str(VENV_BIN)) or "wdl2sfn"
MINIWDL = shutil.which("miniwdl", path=str(VENV_BIN)) or "miniwdl"
HELLO = HERE.parent / "sample_wdl" / "hello"


def commands(work: Path, r: int) -> dict[str, tuple[list[str], list[str]]]:
    """name -> (wdl2sfn argv, miniwdl argv)."""
    wdl, inputs = str(HELLO / "hello.wdl"), str(HELLO / "inputs.json")
    return {
        "--help": ([WDL2SFN, "--help"], [MINIWDL, "--help"]),
        "run (one task)": (
            [WDL2SFN, "run", wdl, "-i", inputs, "--dir", str(work / f"w{r}"), "--no-cache"],
            [sys.executable, str(HERE / "miniwdl_host.py"), "run", wdl, "-i", inputs]
            + ["--dir", str(work / f"m{r}")],
        ),
    }


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run; a failure stops the benchmark (a fast failure is no result)."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return elapsed


def import_profile(argv: list[str], env: dict[str, str], top: int = 8) -> None:
    """Modules a wdl2sfn command imports, and the slowest ones (cumulative µs)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "wdl2sfn.cli", *argv[1:]]
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    rows = re.findall(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", proc.stderr.decode())
    tops = sorted(((int(us), name) for us, indent, name in rows if len(indent) <= 3), reverse=True)
    print(f"#   {' '.join(argv[1:2])}: {len(rows)} modules imported; slowest top-level:")
    for us, name in tops[:top]:
        print(f"#     {us / 1000:7.1f} ms  {name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="interleaved runs per command")
    ap.add_argument("--importtime", action="store_true", help="also profile wdl2sfn's imports")
    args = ap.parse_args()
    env = dict(os.environ)
    env.update(MINIWDL__CALL_CACHE__GET="false", MINIWDL__CALL_CACHE__PUT="false")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# {os.cpu_count()} CPUs, load average {load}; medians of {args.repeat} interleaved")
    work = Path(tempfile.mkdtemp(prefix="wdl2sfn_startup_"))
    times: dict[str, tuple[list[float], list[float]]] = {}
    try:
        for r in range(args.repeat):
            for name, (ours, theirs) in commands(work, r).items():
                mine, peer = times.setdefault(name, ([], []))
                mine.append(timed(ours, env))
                peer.append(timed(theirs, env))
        print(f"{'command':<16} {'wdl2sfn s':>10} {'miniwdl s':>10} {'ratio':>6}")
        for name, (mine, peer) in times.items():
            a, b = statistics.median(mine), statistics.median(peer)
            print(f"{name:<16} {a:>10.3f} {b:>10.3f} {a / b:>6.2f}")
        if args.importtime:
            for ours, _ in commands(work, args.repeat).values():
                import_profile(ours, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
