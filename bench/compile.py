#!/usr/bin/env python3
"""Benchmark: `wdl2sfn compile` vs `miniwdl check` on generated workflows of 100-2,000 calls.

Not a test. For each size N it writes one WDL document whose workflow has N calls arranged in
blocks of ten (a head and a chain of four, a fan-out of four from the chain's end, a fan-in
join), blocks
either continuing from the previous block's join (series) or starting afresh (parallel); every
seventh block sits inside a `scatter` and every eleventh inside an `if`. Then it times, as
subprocesses on the same file (best of --repeat runs each, wall clock):

    wdl2sfn compile WF -o /dev/null
    miniwdl check WF

and prints: calls, wdl2sfn s, miniwdl s, ratio (wdl2sfn/miniwdl; goal, not asserted: <= 1.5),
and the per-call time of each (ms/call; flat across sizes means linear growth). To tell miniwdl's
share from wdl2sfn's own, it also times the phases in a fresh interpreter (best of --repeat):
`load` (miniwdl load + typecheck, through wdl2sfn.wdl), `plan+emit` (compile_document: plan,
schedule, ASL, report) and `json` (serialising the definition), with plan+emit per call. Last, it
prints the top machine's definition size and root-execution events against the quotas.

    python bench/compile.py [--sizes 100,250,500,1000,2000] [--repeat 3] [--keep DIR]
                            [--layered 30x20] [--wdl FILE ...]

`--wdl FILE ...` times given workflow files too (real ones, e.g. a corpus fetched outside the
repository; `--sizes ''` for those alone): a row each, then the median and worst ratio and how
many files are above 1.2.

`--layered LxW` adds the issue's non-series-parallel shape: L layers of W calls, each call taking
the outputs of two random calls of the layer above (seed 600), compiled with exact joins. After
the table it prints, for each workflow, the definition bytes per call of every machine it
compiled to (the top one and its parts) and how deep the machines nest.

Both commands pay the Python interpreter + miniwdl import start-up; wdl2sfn compile loads and
typechecks the document with miniwdl too, so the ratio is (miniwdl load + plan + schedule + emit)
over (miniwdl load + lint + outline print).
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

VENV_BIN = Path(sys.executable).parent
WDL2SFN = shutil.which("wdl2sfn", path=str(VENV_BIN)) or "wdl2sfn"
MINIWDL = shutil.which("miniwdl", path=str(VENV_BIN)) or "miniwdl"

HEADER = """\
version 1.1

task step {
  input {
    Int x
  }
  command <<<
    echo $(( ~{x} + 1 ))
  >>>
  output {
    Int out = read_int(stdout())
  }
}

task join {
  input {
    Array[Int] xs
  }
  command <<<
    echo ~{length(xs)}
  >>>
  output {
    Int out = read_int(stdout())
  }
}

"""

BLOCK_CALLS = 10  # head + chain of 4 + fan-out of 4 + join


def block(b: int, src: str, indent: str) -> tuple[list[str], str]:
    """Ten calls: h -> c1 -> .. -> c4 -> {f1..f4} -> j. Returns lines and the join's output ref."""
    p = f"b{b}_"
    lines = [f"{indent}call step as {p}h {{ input: x = {src} }}"]
    prev = f"{p}h.out"
    for k in range(1, 5):
        lines.append(f"{indent}call step as {p}c{k} {{ input: x = {prev} }}")
        prev = f"{p}c{k}.out"
    fans = []
    for k in range(1, 5):
        lines.append(f"{indent}call step as {p}f{k} {{ input: x = {prev} }}")
        fans.append(f"{p}f{k}.out")
    lines.append(f"{indent}call join as {p}j {{ input: xs = [{', '.join(fans)}] }}")
    return lines, f"{p}j.out"


def generate(n_calls: int) -> str:
    """A workflow with exactly n_calls calls (n_calls a multiple of 10)."""
    assert n_calls % BLOCK_CALLS == 0, n_calls
    body: list[str] = []
    outputs: list[str] = []
    prev = "seed"
    for b in range(n_calls // BLOCK_CALLS):
        src = prev if b % 3 else "seed"  # every third block starts a new parallel strand
        if b % 7 == 6:
            body.append(f"  scatter (s{b} in range(3)) {{")
            lines, out = block(b, f"{src} + s{b}", "    ")
            body += lines
            body.append("  }")
            body.append(f"  Int sum{b} = length({out})")
            prev = f"sum{b}"
        elif b % 11 == 10:
            body.append(f"  if ({src} > 0) {{")
            lines, out = block(b, src, "    ")
            body += lines
            body.append("  }")
            body.append(f"  Int sel{b} = select_first([{out}, 0])")
            prev = f"sel{b}"
        else:
            lines, out = block(b, src, "  ")
            body += lines
            prev = out
        if b % 3 == 2:
            outputs.append(prev)
    outputs.append(prev)
    out_lines = [f"    Int o{i} = {ref}" for i, ref in enumerate(dict.fromkeys(outputs))]
    return (
        HEADER
        + f"workflow gen{n_calls} {{\n  input {{\n    Int seed = 1\n  }}\n"
        + "\n".join(body)
        + "\n  output {\n"
        + "\n".join(out_lines)
        + "\n  }\n}\n"
    )


def generate_layered(layers: int, width: int, seed: int = 600) -> str:
    """L layers of W `step` calls, each fed by two random calls of the layer above."""
    import random

    rng = random.Random(seed)
    body: list[str] = []
    for lv in range(layers):
        for k in range(width):
            if lv == 0:
                src = "seed"
            else:
                a, b = rng.randrange(width), rng.randrange(width)
                src = f"l{lv - 1}_{a}.out + l{lv - 1}_{b}.out"
            body.append(f"  call step as l{lv}_{k} {{ input: x = {src} }}")
    outs = [f"    Int o{k} = l{layers - 1}_{k}.out" for k in range(width)]
    return (
        HEADER
        + f"workflow layered{layers}x{width} {{\n  input {{\n    Int seed = 1\n  }}\n"
        + "\n".join(body)
        + "\n  output {\n"
        + "\n".join(outs)
        + "\n  }\n}\n"
    )


def machine_figures(wdl: Path) -> str:
    """Bytes per call of all the compiled machines (compact JSON, and bounded once deployed
    with ARNs for placeholders) and how deep they nest."""
    code = (
        "import json, sys\n"
        "from wdl2sfn.compiler import compile_workflow\n"
        "from wdl2sfn.compiler.asl import definition_bytes, deployed_bytes_bound\n"
        "c = compile_workflow(sys.argv[1])\n"
        "def depth(m): return 1 + max([depth(k) for k in m.children.values()], default=0)\n"
        "ms = [c, *c.all_machines().values()]\n"
        "sizes = [definition_bytes(m.definition) for m in ms]\n"
        "deployed = [deployed_bytes_bound(m.definition) for m in ms]\n"
        "print(json.dumps({'calls': c.report['calls'], 'machines': len(sizes), "
        "'bytes': sum(sizes), 'deployed': sum(deployed), 'largest': max(deployed), "
        "'depth': depth(c)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(wdl)], check=True, capture_output=True, text=True
    )
    f = json.loads(out.stdout)
    return (
        f"{wdl.stem}: {f['calls']} calls, {f['machines']} machine(s) nested {f['depth']} deep, "
        f"{f['bytes']:,} bytes compiled ({f['bytes'] / f['calls']:,.0f} per call), at most "
        f"{f['deployed']:,} deployed ({f['deployed'] / f['calls']:,.0f} per call); largest "
        f"machine deployed at most {f['largest']:,} ({f['largest'] / 1_048_576:.0%} of 1 MiB)"
    )


def best_of(cmd: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        best = min(best, dt)
    return best


def phases(wdl: Path) -> dict[str, float]:
    """In a fresh interpreter: seconds of miniwdl load+typecheck vs wdl2sfn's own plan/emit/JSON."""
    code = (
        "import json, sys, time\n"
        "from wdl2sfn import wdl\n"
        "from wdl2sfn.compiler import compile_document, ir\n"
        "t0 = time.perf_counter(); doc = wdl.load(sys.argv[1]); t1 = time.perf_counter()\n"
        "c = compile_document(doc, ir.Options()); t2 = time.perf_counter()\n"
        "json.dumps(c.definition, indent=2); t3 = time.perf_counter()\n"
        "print(json.dumps({'load': t1 - t0, 'plan_emit': t2 - t1, 'json': t3 - t2}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(wdl)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,250,500,1000,2000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", help="write the generated WDL here (default: a temp dir)")
    ap.add_argument("--layered", default="", metavar="LxW", help="also a layered DAG, e.g. 30x20")
    ap.add_argument("--wdl", nargs="*", default=[], metavar="FILE",
                    help="also these workflow files (real ones): a row each, then the median "
                    "ratio; e.g. --sizes '' --wdl corpus/*/*.wdl")  # fmt: skip
    return ap.parse_args()


def _workflow(size: int | tuple[int, int], workdir: Path) -> tuple[int, Path]:
    """(calls, path) of a generated workflow: N calls in blocks, or an L x W layered DAG."""
    if isinstance(size, tuple):
        wdl = workdir / f"layered{size[0]}x{size[1]}.wdl"
        wdl.write_text(generate_layered(*size))
        return size[0] * size[1], wdl
    wdl = workdir / f"gen{size}.wdl"
    wdl.write_text(generate(size))
    return size, wdl


def _header() -> None:
    hdr = (
        f"{'calls':>6} {'wdl2sfn s':>10} {'miniwdl s':>10} {'ratio':>6} "
        f"{'wdl2sfn ms/call':>16} {'miniwdl ms/call':>16} {'states':>7} "
        f"{'| load s':>8} {'plan+emit s':>11} {'json s':>7} {'plan+emit ms/call':>17}"
    )
    print(hdr)
    print("-" * len(hdr))


def _measure(n: int | None, wdl: Path, repeat: int) -> dict:
    """Time both tools on one file and print its row; the compile report (for the quotas) with
    the ratio. ``n``: the calls the file must have (None: a given file, as many as it has)."""
    report = wdl.with_name(f"{wdl.stem}.report.json")
    # warm the file cache / check the document compiles before timing
    best_of([WDL2SFN, "compile", str(wdl), "-o", os.devnull, "--report-json", str(report)], 1)
    ours = best_of([WDL2SFN, "compile", str(wdl), "-o", os.devnull], repeat)
    theirs = best_of([MINIWDL, "check", str(wdl)], repeat)
    rep = json.loads(report.read_text())
    assert n is None or rep["calls"] == n, (rep["calls"], n)
    n = max(1, int(rep["calls"]))
    ph = min((phases(wdl) for _ in range(repeat)), key=lambda p: sum(p.values()))
    print(
        f"{n:>6} {ours:>10.2f} {theirs:>10.2f} {ours / theirs:>6.2f} "
        f"{1000 * ours / n:>16.2f} {1000 * theirs / n:>16.2f} {rep['states']:>7} "
        f"{ph['load']:>8.2f} {ph['plan_emit']:>11.2f} {ph['json']:>7.2f} "
        f"{1000 * ph['plan_emit'] / n:>17.2f}",
        flush=True,
    )
    return {**rep, "ratio": ours / theirs}


def _print_quotas(sizes_seen: list[tuple[int, int, int]], machines: list[str]) -> None:
    print(
        "# quotas of the top compiled machine, from its report (big workflows split into children):"
    )
    for n, size, root_events in sizes_seen:
        print(
            f"#   {n:>5} calls: definition {size:,} bytes ({size / 1_048_576:.0%} of 1 MiB), "
            f"root execution {root_events:,} events ({root_events / 25_000:.0%} of 25,000)"
        )
    print("# all the machines of each workflow:")
    for line in machines:
        print(f"#   {line}")


def main() -> None:
    args = _args()
    sizes: list[int | tuple[int, int]] = [int(s) for s in args.sizes.split(",") if s]
    if args.layered:
        layers, width = (int(x) for x in args.layered.split("x"))
        sizes.append((layers, width))
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="wdl2sfn-compile-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"# wdl2sfn compile vs miniwdl check, best of {args.repeat}, {os.cpu_count()} cores")
    print(f"# load averages at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    _header()
    sizes_seen: list[tuple[int, int, int]] = []
    machines: list[str] = []
    for size in sizes:
        n, wdl = _workflow(size, workdir)
        rep = _measure(n, wdl, args.repeat)
        sizes_seen.append((n, rep["definition_bytes"], rep["history"]["root_execution_events"]))
        machines.append(machine_figures(wdl))
    ratios = []
    for given in args.wdl:
        print(f"# {given}")
        rep = _measure(None, Path(given), args.repeat)
        ratios.append(rep["ratio"])
        sizes_seen.append(
            (rep["calls"], rep["definition_bytes"], rep["history"]["root_execution_events"])
        )
    if ratios:
        above = sum(r > 1.2 for r in ratios)
        print(f"# given files: median ratio {statistics.median(ratios):.2f}, worst "
              f"{max(ratios):.2f}, {above} of {len(ratios)} above 1.2")  # fmt: skip
    print(f"# load averages at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    _print_quotas(sizes_seen, machines)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
