"""The finalize step: workflow outputs -> outputs.json (+ out/ links), and the upload job if asked."""

from __future__ import annotations

import os
from typing import Any

import WDL

from .store import RunStore
from .workflow_eval import WorkflowEval


def finalize_run(settings: Any, ev: WorkflowEval, runner: dict[str, Any]) -> dict[str, Any]:
    store: RunStore = settings.store
    run_dir = store.run_dir(ev.run)
    outputs = ev.workflow_outputs()
    ev.check_declarations()
    doc = WDL.values_to_json(outputs, namespace=ev.workflow.name)
    store.write_json(run_dir / "outputs.json", doc)
    link_outputs(run_dir, outputs)
    record = store.read_json(run_dir / "run.json")
    upload = bool(record.get("options", {}).get("s3upload"))
    job = upload_job(ev.run, runner) if upload else None
    return {"upload": upload, "job": job, "dir": str(run_dir)}


def link_outputs(run_dir: Any, outputs: WDL.Env.Bindings[WDL.Value.Base]) -> None:
    """`out/<output>/<file>` symlinks to output files, as miniwdl makes them."""
    for binding in outputs:
        files = _paths_in(binding.value)
        for i, path in enumerate(files):
            if not os.path.exists(path):
                continue
            sub = run_dir / "out" / binding.name / (str(i) if len(files) > 1 else "")
            sub.mkdir(parents=True, exist_ok=True)
            link = sub / os.path.basename(path.rstrip("/"))
            if not link.exists():
                os.symlink(path, link)


def _paths_in(value: WDL.Value.Base) -> list[str]:
    found: list[str] = []

    def note(v: WDL.Value.Base) -> str:
        found.append(str(v.value))
        return str(v.value)

    WDL.Value.rewrite_paths(value, note)
    return found


def upload_job(run: str, runner: dict[str, Any]) -> dict[str, Any]:
    """The Batch job (runner image) that copies outputs and logs to S3."""
    return {
        "name": f"upload-{run}"[:128].replace(".", "-"),
        "queue": runner.get("queue"),
        "definition": runner.get("definition"),
        "command": ["python3", "-m", "wdl2sfn.task_runner", "upload", "--run", run],
        "resources": [{"Type": "VCPU", "Value": "1"}, {"Type": "MEMORY", "Value": "2048"}],
        "environment": [],
        "retry": {"Attempts": 3},
        "timeout": {"AttemptDurationSeconds": 86400},
    }
