#!/usr/bin/env python3
"""wdl2sfn's local runs in containers side by side with miniwdl's podman backend: same images,
same workflows, outputs compared, wall times printed.

    python bench/containers.py [--repeat N] [--only NAME ...]

Needs podman and the test registry with its images (`.ci/containers.sh setup`): miniwdl's podman
backend always pulls, so its images must come from a registry. Each workflow runs with
`wdl2sfn run --container podman` and with `miniwdl run` under
``MINIWDL__SCHEDULER__CONTAINER_BACKEND=podman`` / ``MINIWDL__PODMAN__EXE='["podman"]'``, in
alternating order, N times each; the fastest of each is kept. Both pay a container start per
task, so the goal is a ratio (wdl2sfn / miniwdl) of at most 0.9: no overhead of ours on top of
the engine's.

Workflows: the samples that name no image of their own (run in the registry's base image through
each tool's runtime defaults) plus `hello` with its Docker Hub image replaced; a scatter of 50
trivial tasks; 8 tasks sleeping 2 s. Outputs must be identical: values equal, and File outputs
equal in content (their paths differ: each tool has its own run folder).

Exit status: 0 when every output matched, 1 otherwise (the ratios are printed, not enforced).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_wdl"
BIN = Path(sys.executable).parent
IMAGE = "127.0.0.1:5000/wdl2sfn-test/base:1"
GOAL = 0.9

SCATTER_50 = """version 1.1
workflow scatter50 {
  scatter (i in range(50)) { call echo { input: i = i } }
  output { Array[Int] out = echo.out }
}
task echo {
  input { Int i }
  command <<< echo ~{i} >>>
  output { Int out = read_int(stdout()) }
  runtime { docker: "IMAGE" cpu: 1 memory: "64 MiB" }
}
"""

SLEEP_8 = """version 1.1
workflow sleep8 {
  scatter (i in range(8)) { call nap { input: i = i } }
  output { Array[String] out = nap.out }
}
task nap {
  input { Int i }
  command <<< sleep 2; echo "slept ~{i}" >>>
  output { String out = read_string(stdout()) }
  runtime { docker: "IMAGE" cpu: 1 memory: "64 MiB" }
}
"""


@dataclass
class Workflow:
    name: str
    wdl: Path
    inputs: Path | None = None
    cwd: Path = ROOT
    times: dict[str, list[float]] = field(default_factory=lambda: {"wdl2sfn": [], "miniwdl": []})
    outputs: dict[str, Any] = field(default_factory=dict)


def workflows(scratch: Path) -> list[Workflow]:
    """The samples without an image of their own, hello in the registry image, the two scatters."""
    out = []
    for name in ("conditional", "files", "subworkflow"):
        folder = SAMPLES / name
        inputs = folder / "inputs.json"
        out.append(Workflow(name, folder / f"{name}.wdl", inputs, cwd=folder))
    hello = scratch / "hello.wdl"
    hello.write_text((SAMPLES / "hello" / "hello.wdl").read_text().replace("ubuntu:22.04", IMAGE))
    out.append(Workflow("hello", hello, SAMPLES / "hello" / "inputs.json"))
    for name, text in (("scatter50", SCATTER_50), ("sleep8", SLEEP_8)):
        wdl = scratch / f"{name}.wdl"
        wdl.write_text(text.replace("IMAGE", IMAGE))
        out.append(Workflow(name, wdl))
    return out


def command(tool: str, wf: Workflow, run_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run `wf` with `tool` in containers."""
    inputs = ["-i", str(wf.inputs)] if wf.inputs else []
    env = dict(os.environ)
    if tool == "wdl2sfn":
        argv = [str(BIN / "wdl2sfn"), "run", str(wf.wdl), *inputs, "--dir", str(run_dir)]
        argv += ["--container", "podman", "--no-cache"]
        argv += ["--runtime-defaults", json.dumps({"docker": IMAGE})]
    else:
        argv = [str(BIN / "miniwdl"), "run", str(wf.wdl), *inputs, "--dir", str(run_dir)]
        env["MINIWDL__SCHEDULER__CONTAINER_BACKEND"] = "podman"
        env["MINIWDL__PODMAN__EXE"] = '["podman"]'
        env["MINIWDL__TASK_RUNTIME__DEFAULTS"] = json.dumps({"docker": IMAGE})
        env["MINIWDL__CALL_CACHE__GET"] = "false"
        env["MINIWDL__CALL_CACHE__PUT"] = "false"
    return argv, env


def run_once(tool: str, wf: Workflow, scratch: Path) -> tuple[float, Any]:
    """Wall seconds and the outputs (File values read back) of one run."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"{tool}-{wf.name}-", dir=scratch))
    argv, env = command(tool, wf, run_dir)
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=wf.cwd, env=env, timeout=900)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise SystemExit(f"{tool} {wf.name} failed (exit {done.returncode}):\n{tail}")
    return seconds, contents(json.loads(done.stdout)["outputs"])


def contents(value: Any) -> Any:
    """Outputs with each File replaced by its content: paths differ between the two tools."""
    if isinstance(value, dict):
        return {k: contents(v) for k, v in value.items()}
    if isinstance(value, list):
        return [contents(v) for v in value]
    if isinstance(value, str) and value.startswith("/") and os.path.isfile(value):
        return {"file content": Path(value).read_text(errors="replace")}
    return value


def measure(wf: Workflow, repeat: int, scratch: Path) -> None:
    """`repeat` runs of each tool, alternating which goes first."""
    for i in range(repeat):
        order = ("wdl2sfn", "miniwdl") if i % 2 == 0 else ("miniwdl", "wdl2sfn")
        for tool in order:
            seconds, outputs = run_once(tool, wf, scratch)
            wf.times[tool].append(seconds)
            wf.outputs[tool] = outputs


def report(flows: list[Workflow]) -> bool:
    """One line per workflow; True when every workflow's outputs matched."""
    print(f"{'workflow':<12} {'wdl2sfn s':>10} {'miniwdl s':>10} {'ratio':>6}  outputs")
    ok = True
    for wf in flows:
        ours, theirs = min(wf.times["wdl2sfn"]), min(wf.times["miniwdl"])
        same = wf.outputs["wdl2sfn"] == wf.outputs["miniwdl"]
        ok = ok and same
        mark = "identical" if same else "DIFFER"
        print(f"{wf.name:<12} {ours:>10.2f} {theirs:>10.2f} {ours / theirs:>6.2f}  {mark}")
        if not same:
            print(f"  wdl2sfn: {json.dumps(wf.outputs['wdl2sfn'])[:400]}")
            print(f"  miniwdl: {json.dumps(wf.outputs['miniwdl'])[:400]}")
    total_ours = sum(min(wf.times["wdl2sfn"]) for wf in flows)
    total_theirs = sum(min(wf.times["miniwdl"]) for wf in flows)
    print(
        f"{'total':<12} {total_ours:>10.2f} {total_theirs:>10.2f} "
        f"{total_ours / total_theirs:>6.2f}  (goal: ratio <= {GOAL})"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tool (fastest kept)")
    parser.add_argument("--only", nargs="*", help="workflow names to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wdl2sfn-bench-containers-") as tmp:
        scratch = Path(tmp)
        flows = [wf for wf in workflows(scratch) if not args.only or wf.name in args.only]
        for wf in flows:
            measure(wf, args.repeat, scratch)
            print(f"... {wf.name} done", file=sys.stderr)
        return 0 if report(flows) else 1


if __name__ == "__main__":
    sys.exit(main())
