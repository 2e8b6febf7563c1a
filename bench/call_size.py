#!/usr/bin/env python3
"""Benchmark: definition bytes per WDL call, compact JSON, in EFS and FSx mode.

Not a test (`tests/compiler/test_split.py` pins the chain figure). Prints two tables:

1. per sample of `sample_wdl/`, divided by the sample's calls: the bytes of a call's own state
   (`call X`, one Task of the stack's call machine: "own") and of every state that serves calls
   ("all"). Values only (the state names used as keys are not counted), compact JSON as
   `compile -o` writes it; then "all in", as `compile --report` prints it: every machine of the
   workflow over the calls, fixed states included (the stack's call and finish machines are
   deployed once per stack and not counted), for the samples and generated workflows
   (bench/compile.py's shapes, tests/compiler/name_shapes.py's long-name shapes);
2. the chain measurement of docs/limits.md: `(size(21 calls) - size(11 calls)) / 10` of a chain
   of plain calls (`call step as sN`), the whole definition, compiled and deployed
   (`deployed_bytes_bound`: each `${...}` placeholder counted as the ARN that replaces it).

    python bench/call_size.py
    python bench/call_size.py --wdl FILE...   # real workflows: all in per file, median, and
                                              # the share of each kind of state (docs/design.md)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from wdl2sfn.compiler import compile_workflow  # noqa: E402
from wdl2sfn.compiler.asl import deployed_bytes_bound  # noqa: E402
from wdl2sfn.contract import CALL_MACHINE, ref  # noqa: E402

MODES = ("efs", "fsx")


def size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def states(graph: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (name, state) of a definition, inside Parallel branches and Map processors too."""
    for name, state in graph["States"].items():
        yield name, state
        for sub in state.get("Branches", []) + (
            [state["ItemProcessor"]] if "ItemProcessor" in state else []
        ):
            yield from states(sub)


def serves_calls(name: str) -> bool:
    """A call's own state (the failure steps are the call machine's since issue 25 round 4)."""
    return name.startswith("call ")


def is_call(state: dict[str, Any]) -> bool:
    """A call's Task: it runs the stack's call machine."""
    return state.get("Parameters", {}).get("StateMachineArn") == ref(CALL_MACHINE)


def own(name: str) -> bool:
    return name.startswith("call ")


def flat(name: str, state: dict[str, Any]) -> tuple[int, int]:
    """(own, shared) bytes of a state, without the graphs it holds (counted state by state)."""
    if "Branches" in state or "ItemProcessor" in state or not serves_calls(name):
        return 0, 0
    return (size(state), 0) if own(name) else (0, size(state))


def per_sample(wdl: Path, mode: str) -> tuple[int, float, float]:
    """(calls, a call's own bytes per call, all call-serving bytes per call)."""
    compiled = compile_workflow(str(wdl), filesystem=mode)
    mine, shared, calls = 0, 0, 0
    machines = [compiled.definition] + [m.definition for m in compiled.all_machines().values()]
    for definition in machines:
        for name, state in states(definition):
            a, b = flat(name, state)
            mine, shared = mine + a, shared + b
            calls += is_call(state)
    n = max(1, calls)
    return calls, mine / n, (mine + shared) / n


def chain(path: Path, calls: int) -> Path:
    lines = ["version 1.1", "workflow big {", "  call step as s0 { input: x = 0 }"]
    lines += [f"  call step as s{i} {{ input: x = s{i - 1}.y }}" for i in range(1, calls)]
    lines += [f"  output {{ Int last = s{calls - 1}.y }}", "}"]
    lines += ["task step {", "  input { Int x }", "  command <<< echo $(( ~{x} + 1 )) >>>"]
    lines += ["  output { Int y = read_int(stdout()) }", "}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def chain_per_call(mode: str, folder: Path) -> tuple[float, float]:
    small = compile_workflow(str(chain(folder / "a.wdl", 11)), filesystem=mode).definition
    large = compile_workflow(str(chain(folder / "b.wdl", 21)), filesystem=mode).definition
    compiled = (size(large) - size(small)) / 10
    deployed = (deployed_bytes_bound(large) - deployed_bytes_bound(small)) / 10
    return compiled, deployed


def all_in(wdl: Path, mode: str) -> int:
    """`compile --report`'s bytes per call all in: every machine's definition over the calls."""
    figures = compile_workflow(str(wdl), filesystem=mode).report["all_in"]
    return int(figures["bytes_per_call"] or 0)


def generated(folder: Path) -> list[Path]:
    """bench/compile.py's 100- and 250-call workflows (chains, fan-outs, joins, a scatter, an
    if) and the long-name shapes of tests/compiler/name_shapes.py."""
    from compile import generate  # noqa: PLC0415 - bench/compile.py, beside this script

    from tests.compiler.name_shapes import SHAPES  # noqa: PLC0415

    paths = []
    for n in (100, 250):
        (folder / f"generated{n}.wdl").write_text(generate(n))
        paths.append(folder / f"generated{n}.wdl")
    for shape, make in SHAPES.items():
        sub = folder / shape.replace(" ", "_").replace(",", "")
        sub.mkdir()
        files = make()
        for name, text in files.items():
            (sub / name).write_text(text)
        paths.append(sub / next(iter(files)))
    return paths


#: what each state is for, by its name (the compiler's role suffixes); the first match wins
ROLES = (
    ("calls (one call machine Task each)", lambda n: n.startswith("call ") and not _join(n)),
    ("exact joins: wait, release", lambda n: _join(n)),
    (
        "init, outputs (finish machine Task), done",
        lambda n: n.split(": ")[0] in ("init", "outputs", "done"),
    ),
)


def _join(name: str) -> bool:
    return name.endswith((": wait", ": release"))


def role(name: str) -> str:
    for label, test in ROLES:
        if test(name):
            return label
    return "sections: scatter/if eval, Map, Choice, Parallel, Succeed"


def own_bytes(name: str, state: dict[str, Any]) -> int:
    """A state with its name as a key, without the graphs it holds (counted on their own)."""
    held = state.get("Branches", []) + (
        [state["ItemProcessor"]] if "ItemProcessor" in state else []
    )
    return size({name: state}) - sum(size(g["States"]) for g in held)


def corpus(files: list[str]) -> None:
    """All in per file and mode (as `compile --report`), their median, and where the bytes go."""
    totals: dict[str, dict[str, int]] = {m: {} for m in MODES}
    rows: dict[str, list[int]] = {m: [] for m in MODES}
    print("file | calls | EFS all in | FSx all in")
    for wdl in files:
        figures = []
        for mode in MODES:
            compiled = compile_workflow(wdl, filesystem=mode)
            rows[mode].append(int(compiled.report["all_in"]["bytes_per_call"] or 0))
            figures.append(rows[mode][-1])
            machines = [compiled.definition]
            machines += [m.definition for m in compiled.all_machines().values()]
            for definition in machines:
                for name, state in states(definition):
                    kind = role(name)
                    totals[mode][kind] = totals[mode].get(kind, 0) + own_bytes(name, state)
        print(f"{Path(wdl).name} | {compiled.report['calls']} | {figures[0]:,} | {figures[1]:,}")
    for mode in MODES:
        v = sorted(rows[mode])
        print(f"\n{mode}: median {statistics.median(v):,.0f}, p90 {v[int(0.9 * (len(v) - 1))]:,}, "
              f"max {v[-1]:,} B per call all in ({len(v)} files)")  # fmt: skip
        whole = sum(totals[mode].values())
        for kind, n in sorted(totals[mode].items(), key=lambda kv: -kv[1]):
            print(f"  {kind}: {n / whole:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wdl", nargs="+", metavar="FILE", help="real workflow files")
    args = parser.parse_args()
    if args.wdl:
        corpus(args.wdl)
        return
    print(
        "sample | calls | EFS own B/call | EFS all B/call | FSx own B/call | FSx all B/call "
        "| EFS all in | FSx all in"
    )
    for wdl in sorted((ROOT / "sample_wdl").glob("*/*.wdl")):
        if wdl.stem != wdl.parent.name:
            continue  # imported documents (subworkflow/lib.wdl)
        (calls, efs_own, efs_all), (_, fsx_own, fsx_all) = (per_sample(wdl, m) for m in MODES)
        print(
            f"{wdl.parent.name} | {calls} | {efs_own:,.0f} | {efs_all:,.0f} | {fsx_own:,.0f} "
            f"| {fsx_all:,.0f} | {all_in(wdl, 'efs'):,} | {all_in(wdl, 'fsx'):,}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        print("\ngenerated | EFS all in | FSx all in")
        for wdl in generated(Path(tmp)):
            print(f"{wdl.parent.name}/{wdl.name} | {all_in(wdl, 'efs'):,} | {all_in(wdl, 'fsx'):,}")
    with tempfile.TemporaryDirectory() as tmp:
        print("\nchain | compiled B/call | deployed bound B/call")
        for mode in MODES:
            compiled, deployed = chain_per_call(mode, Path(tmp))
            print(f"{mode} | {compiled:,.0f} | {deployed:,.0f}")


if __name__ == "__main__":
    main()
