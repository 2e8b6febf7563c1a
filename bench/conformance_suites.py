#!/usr/bin/env python3
"""Run the WDL 1.1.3 and 1.2.1 specification suites against an engine, honouring `priority: ignore`.

Why this exists: `../shared/conformance/run_conformance.py` (read-only, shared) runs every
extracted example and counts a failure of an example whose config says `priority: ignore` (the
spec's "engines need not pass it") like any other. This runner reuses its `run_one` (by import, so
comparing outputs stays one implementation) and reports such a failure as `ignored`; a pass of an
ignore-marked example still counts as a pass.

Used by tests/conformance/test_spec_suites.py (wdl2sfn) and, run by hand, to regenerate
miniwdl's pass lists in bench/miniwdl_conformance_passes.json:

    python bench/conformance_suites.py miniwdl --write     # both suites, about 15 minutes
    python bench/conformance_suites.py wdl2sfn --suite 1.2.1
    python bench/conformance_suites.py wdl2sfn --suite 1.2.1 --only multiline_strings2 --only ...
    python bench/conformance_suites.py aws --suite 1.2.1 --jobs 1   # under `rehearse --serve`

The `aws` engine starts `wdl2sfn rehearse --serve --container host` (the examples' images cannot
be pulled here), points the CLI at it as the CLI user, and runs each example with
bench/conformance_aws.sh: deployed as its own state machine, run through the stack's Lambda
functions and Batch job definitions, its outputs fetched back from S3.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT.parent / "shared" / "conformance"
SUITES = ("1.1.3", "1.2.1")
PASSES_FILE = ROOT / "bench" / "miniwdl_conformance_passes.json"
MINIWDL_ENGINE = (
    f"{sys.executable} {ROOT / 'bench' / 'miniwdl_host.py'} run {{wdl}} -i {{inputs}} --dir {{dir}}"
)
# `--container host` explicitly: the examples' images (ubuntu:focal...) cannot be pulled here,
# whatever the default container mode becomes.
WDL2SFN_ENGINE = (
    f"{sys.executable} -m wdl2sfn.cli run {{wdl}} -i {{inputs}} --dir {{dir}} --container host"
)
AWS_ENGINE = f"{ROOT / 'bench' / 'conformance_aws.sh'} {{wdl}} {{inputs}} {{dir}}"
ENGINES = {"miniwdl": MINIWDL_ENGINE, "wdl2sfn": WDL2SFN_ENGINE, "aws": AWS_ENGINE}


@contextlib.contextmanager
def served_account(folder: Path) -> Iterator[dict[str, str]]:
    """`wdl2sfn rehearse --serve --container host` under `folder`, with this process's
    environment pointed at it as the CLI user while the block runs (the shared runner's
    subprocesses inherit it); the server is stopped after."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WDL2SFN_"))}
    argv = [sys.executable, "-m", "wdl2sfn.cli", "rehearse", "--serve", "--container", "host"]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "serve.log", "w") as log:
        server = subprocess.Popen(
            [*argv, "--dir", str(folder)], stdout=subprocess.PIPE, stderr=log, text=True, env=clean
        )
    assert server.stdout is not None
    saved = dict(os.environ)
    try:
        line = server.stdout.readline()
        if not line:
            raise RuntimeError(f"rehearse --serve ended: see {folder / 'serve.log'}")
        info = json.loads(line)
        env = {
            "AWS_ENDPOINT_URL": info["endpoint"],
            "AWS_DEFAULT_REGION": info["region"],
            "WDL2SFN_STACK": info["stack"],
            "WDL2SFN": str(Path(sys.executable).parent / "wdl2sfn"),
            **info["cli_keys"],
        }
        os.environ.clear()
        os.environ.update({**clean, **env})
        yield env
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)


def shared_runner() -> ModuleType:
    """The shared run_conformance.py as a module (it is a script, not an installed package)."""
    spec = importlib.util.spec_from_file_location(
        "run_conformance", CONFORMANCE / "run_conformance.py"
    )
    assert spec and spec.loader, CONFORMANCE
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def extract(suite: str, out: Path) -> Path:
    """Extract one suite's examples (with its data files) into `out`; returns `out`."""
    text = CONFORMANCE / f"wdl-{suite}"
    subprocess.run(
        [
            sys.executable,
            str(CONFORMANCE / "extract_spec_tests.py"),
            str(text / "SPEC.md"),
            str(out),
            "-d",
            str(text / "data"),
        ],
        check=True,
        capture_output=True,
    )
    return out


def run_suite(
    tests: Path, engine: str, jobs: int = 2, only: list[str] | None = None
) -> dict[str, tuple[str, str]]:
    """Every example once (``only``: just those named): id -> (pass | fail | skip | ignored, why)."""
    runner = shared_runner()
    work = Path(tempfile.mkdtemp(prefix="conf-"))
    dirs = sorted(d for d in tests.iterdir() if (d / "config.json").exists())
    if only:
        dirs = [d for d in dirs if d.name in only]

    def one(test_dir: Path) -> tuple[str, str, str]:
        tid, status, why = runner.run_one(test_dir, engine, work, 300)
        config = json.loads((test_dir / "config.json").read_text())
        if status == "fail" and config.get("priority") == "ignore":
            return tid, "ignored", why
        return tid, status, why

    with ThreadPoolExecutor(jobs) as pool:
        return {tid: (status, why) for tid, status, why in pool.map(one, dirs)}


def summary(results: dict[str, tuple[str, str]]) -> str:
    """One line: how many passed, failed, failed but ignore-marked, skipped."""
    counts = {s: 0 for s in ("pass", "fail", "ignored", "skip")}
    for status, _ in results.values():
        counts[status] += 1
    return (
        f"conformance: {counts['pass']} passed, {counts['fail']} failed,"
        f" {counts['ignored']} ignored, {counts['skip']} skipped"
    )


def write_passes(suite: str, results: dict[str, tuple[str, str]], seconds: float) -> None:
    """Store miniwdl's pass list of one suite in bench/miniwdl_conformance_passes.json."""
    stored: dict[str, Any] = json.loads(PASSES_FILE.read_text()) if PASSES_FILE.exists() else {}
    suites = stored.setdefault("suites", {})
    suites[suite] = {
        "summary": summary(results),
        "engine": "miniwdl 1.16.0 with bench/miniwdl_host_backend.py (host subprocess)",
        "command": f"python bench/conformance_suites.py miniwdl --suite {suite} --write",
        "seconds": round(seconds),
        "passes": sorted(t for t, (s, _) in results.items() if s == "pass"),
    }
    PASSES_FILE.write_text(json.dumps(stored, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("--suite", choices=SUITES, action="append")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="store the pass list (miniwdl)")
    parser.add_argument(
        "--only", action="append", metavar="EXAMPLE", help="run just this example (repeatable)"
    )
    parser.add_argument("--json", type=Path, help="write id -> [status, why] of each suite here")
    args = parser.parse_args(argv)
    everything: dict[str, dict[str, tuple[str, str]]] = {}
    for suite in args.suite or SUITES:
        started = time.monotonic()
        tests = extract(suite, Path(tempfile.mkdtemp(prefix=f"spec-{suite}-")))
        with contextlib.ExitStack() as stack:
            if args.engine == "aws":
                stack.enter_context(served_account(Path(tempfile.mkdtemp(prefix="served-"))))
            results = run_suite(tests, ENGINES[args.engine], args.jobs, args.only)
        seconds = time.monotonic() - started
        for tid, (status, why) in sorted(results.items()):
            if status != "pass":
                print(f"{status:7} {tid}: {why}")
        print(f"{suite}: {summary(results)} ({seconds:.0f}s)")
        if args.write and not args.only:
            write_passes(suite, results, seconds)
        everything[suite] = results
        if args.json:
            args.json.write_text(json.dumps(everything, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
