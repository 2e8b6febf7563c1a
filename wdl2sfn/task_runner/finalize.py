"""The finalize step: workflow outputs -> outputs.json (+ out/ links), and the upload job if asked."""

from __future__ import annotations

from typing import Any

import WDL

from .out_links import link_outputs
from .store import RunStore
from .workflow_eval import WorkflowEval


def finalize_run(settings: Any, ev: WorkflowEval, runner: dict[str, Any]) -> dict[str, Any]:
    store: RunStore = settings.store
    run_dir = store.run_dir(ev.run)
    outputs = ev.workflow_outputs()
    ev.check_declarations()
    ev.files.check_values(outputs, "workflow output")
    linked = link_outputs(run_dir, outputs)  # outputs.json names out/..., as miniwdl's
    store.write_json(
        run_dir / RunStore.OUTPUTS, WDL.values_to_json(linked, namespace=ev.workflow.name)
    )
    record = store.read_json(run_dir / RunStore.RECORD)
    from .upload import upload_destination

    upload = bool(upload_destination(settings, record.get("options", {})))
    job = upload_job(ev.run, runner) if upload else None
    return {"upload": upload, "job": job, "dir": str(run_dir)}


def upload_job(run: str, runner: dict[str, Any]) -> dict[str, Any]:
    """The Batch job (runner image) that copies outputs and logs to S3."""
    return {
        "name": f"upload-{run}"[:128].replace(".", "-"),
        "queue": runner.get("queue"),
        "definition": runner.get("definition"),
        "overrides": {
            "Command": ["python3", "-m", "wdl2sfn.task_runner", "upload", "--run", run],
            "ResourceRequirements": [
                {"Type": "VCPU", "Value": "1"},
                {"Type": "MEMORY", "Value": "2048"},
            ],
            "Environment": [],
        },
    }
