"""The finalize step: workflow outputs -> outputs.json (+ out/ links), and the upload job if asked."""

from __future__ import annotations

import os
from typing import Any

import WDL

from .store import RunStore
from .value_files import type_may_hold_files
from .workflow_eval import WorkflowEval


def finalize_run(settings: Any, ev: WorkflowEval, runner: dict[str, Any]) -> dict[str, Any]:
    store: RunStore = settings.store
    run_dir = store.run_dir(ev.run)
    outputs = ev.workflow_outputs()
    ev.check_declarations()
    ev.files.check_values(outputs, "workflow output")
    doc = WDL.values_to_json(outputs, namespace=ev.workflow.name)
    store.write_json(run_dir / RunStore.OUTPUTS, doc)
    link_outputs(run_dir, outputs)
    record = store.read_json(run_dir / RunStore.RECORD)
    from .upload import upload_destination

    upload = bool(upload_destination(settings, record.get("options", {})))
    job = upload_job(ev.run, runner) if upload else None
    return {"upload": upload, "job": job, "dir": str(run_dir)}


def link_outputs(run_dir: Any, outputs: WDL.Env.Bindings[WDL.Value.Base]) -> None:
    """`out/<output>/...` relative symlinks to output files, mirroring the value's structure as
    miniwdl does: an array element under its index (`out/chunks/0/1/x.txt` for an
    Array[Array[File]]), a pair under left/right, a map under its key, a struct under its
    member's name. Relative links keep working when the run folder moves."""
    for binding in outputs:
        _link_value(binding.value, run_dir / "out" / binding.name)


def _link_value(value: WDL.Value.Base, where: Any) -> None:
    if not type_may_hold_files(value.type):
        return  # (an Array[Int] of 100,000 would make 100,000 paths, and intern their names)
    if isinstance(value, WDL.Value.File | WDL.Value.Directory):
        path = str(value.value).rstrip("/")
        if not os.path.exists(path):
            return
        where.mkdir(parents=True, exist_ok=True)
        link = where / os.path.basename(path)
        if not os.path.lexists(link):
            os.symlink(os.path.relpath(path, where), link)
    elif isinstance(value, WDL.Value.Array):
        for i, item in enumerate(value.value):
            _link_value(item, where / str(i))
    elif isinstance(value, WDL.Value.Pair):
        _link_value(value.value[0], where / "left")
        _link_value(value.value[1], where / "right")
    elif isinstance(value, WDL.Value.Map):
        for key, item in value.value:
            _link_value(item, where / str(key.value))
    elif isinstance(value, WDL.Value.Struct):
        for member, item in value.value.items():
            _link_value(item, where / member)


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
