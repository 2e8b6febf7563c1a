"""Run the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wdl2sfn.runs.calls import call_label, label_state


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""

    @property
    def run_dir(self) -> Path:
        return Path(self.json["dir"])


def wdl2sfn(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> Result:
    full_env = {**os.environ, **(env or {})}
    out = subprocess.run(
        [sys.executable, "-m", "wdl2sfn.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )
    return Result(out.returncode, out.stdout, out.stderr)


def history(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def all_histories(run_dir: Path) -> list[Path]:
    return sorted(run_dir.rglob("history.jsonl"))


def call_executions(run_dir: Path) -> dict[str, list[list[dict[str, Any]]]]:
    """The run's call machine executions by call label (the calling state's name, read with
    runs/calls.call_label), each its events in order: one per call instance (shard)."""
    found: dict[str, list[list[dict[str, Any]]]] = {}
    for path in all_histories(run_dir):
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        label = call_label(events[0]) if events else None
        if label is not None:
            found.setdefault(label, []).append(events)
    return found


def entered(events: list[dict[str, Any]], label: str = "") -> list[str]:
    """Names of the states entered in one execution's events, in order; with a call's label,
    its call machine's states as the workflow names them (`call: run` -> `call X: run`)."""
    return [
        label_state(e["stateEnteredEventDetails"]["name"], label)
        if label
        else e["stateEnteredEventDetails"]["name"]
        for e in events
        if e["type"].endswith("StateEntered")
    ]


def batch_jobs_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parameters of the Batch jobs one execution's events submitted, in order."""
    return [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for e in events
        if e["type"] == "TaskScheduled"
        and e["taskScheduledEventDetails"]["resourceType"] == "batch"
    ]
