"""The init step: execution input (or an EventBridge event) -> the run record in the store.

Accepted inputs:
* `{"inputs": {...}, "run": {"name", "s3upload", "delete_after", "no_cache", "tags"}}` (wdl2sfn run);
* an EventBridge "Object Created" event for an inputs JSON in S3 (the file holds the inputs, or
  the whole `{"inputs", "run"}` request);
* a schedule's constant input, which is the first form.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

import WDL

from .. import wdl
from .errors import WdlInputError
from .store import RunStore

RUN_OPTIONS = ("name", "s3upload", "delete_after", "no_cache", "tags", "copy_input_files")


def normalize_request(raw: Any, s3: Any = None) -> dict[str, Any]:
    """Whatever started the execution -> {"inputs": {...}, "run": {...}}."""
    if not isinstance(raw, dict):
        raise WdlInputError("execution input must be a JSON object")
    if raw.get("source") == "aws.s3" and raw.get("detail-type") == "Object Created":
        bucket = raw["detail"]["bucket"]["name"]
        key = raw["detail"]["object"]["key"]
        body = _s3_client(s3).get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            loaded = json.loads(body)
        except json.JSONDecodeError as exn:
            raise WdlInputError(f"s3://{bucket}/{key}: not JSON: {exn}") from exn
        request = loaded if "inputs" in loaded else {"inputs": loaded}
        request.setdefault("run", {}).setdefault("source", f"s3://{bucket}/{key}")
        return request
    if "detail-type" in raw and "detail" in raw:  # a scheduled event carrying the request in detail
        return normalize_request(raw["detail"], s3)
    inputs = raw.get("inputs", {})
    if not isinstance(inputs, dict):
        raise WdlInputError("execution input field 'inputs' must be a JSON object")
    return {"inputs": inputs, "run": dict(raw.get("run") or {})}


def _s3_client(s3: Any) -> Any:
    if s3 is not None:
        return s3
    import boto3

    return boto3.client("s3")


def validate_inputs(workflow: WDL.Tree.Workflow, inputs: dict[str, Any]) -> dict[str, Any]:
    """miniwdl's input checks: unknown names, wrong types, missing required inputs."""
    try:
        env = WDL.values_from_json(
            inputs, workflow.available_inputs, workflow.required_inputs, namespace=workflow.name
        )
    except WDL.Error.InputError as exn:
        raise WdlInputError(str(exn)) from exn
    except (WDL.Error.RuntimeError, ValueError, TypeError) as exn:  # coercion failures
        raise WdlInputError(f"invalid input: {exn}") from exn
    return dict(WDL.values_to_json(env, namespace=workflow.name))


def initialize_run(settings: Any, event: dict[str, Any], load: Any = None) -> dict[str, Any]:
    """`load(digest, path)` loads (or recalls) the workflow document; default: parse the file."""
    store: RunStore = settings.store
    request = normalize_request(event.get("input") or {}, settings.s3)
    wf = event["workflow"]
    opts = {k: v for k, v in request["run"].items() if k in RUN_OPTIONS or k == "source"}
    name = (
        opts.get("name")
        or f"{wf['name']}_{event.get('execution') or time.strftime('%Y%m%d_%H%M%S')}"
    )
    run_dir = store.run_dir(name)
    if (run_dir / "run.json").exists():
        return {"run": name}  # idempotent: a retried init sees the run it already made
    bundle = fetch_bundle(settings, wf["digest"])
    wdl_dir = run_dir / "wdl"
    shutil.copytree(bundle, wdl_dir, dirs_exist_ok=True)
    meta = json.loads((bundle / "bundle.json").read_text())
    main = wdl_dir / meta["main"]
    doc = load(wf["digest"], main) if load is not None else wdl.load(str(main))
    assert doc.workflow is not None
    inputs = validate_inputs(doc.workflow, request["inputs"])
    record = {
        "name": name,
        "execution": event.get("execution"),
        "workflow": {"name": wf["name"], "digest": wf["digest"], "main": meta["main"]},
        "inputs": inputs,
        "options": opts,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    store.write_json(run_dir / "inputs.json", inputs)
    store.write_json(run_dir / "run.json", record)
    return {"run": name}


def fetch_bundle(settings: Any, digest: str):  # type: ignore[no-untyped-def]
    """The workflow sources by digest: in the store, else from `s3://<RunBucket>/_workflows/`."""
    store: RunStore = settings.store
    local = store.workflows_dir(digest)
    if (local / "bundle.json").exists():
        return local
    if not settings.run_bucket:
        raise WdlInputError(f"workflow sources {digest} not found in {local}")
    s3 = _s3_client(settings.s3)
    prefix = f"_workflows/{digest}/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.run_bucket, Prefix=prefix)
    for page in pages:
        for obj in page.get("Contents", []):
            dest = local / obj["Key"][len(prefix) :]
            dest.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(settings.run_bucket, obj["Key"], str(dest))
    if not (local / "bundle.json").exists():
        raise WdlInputError(f"workflow sources s3://{settings.run_bucket}/{prefix} not found")
    return local


def write_bundle(store: RunStore, digest: str, main: str, name: str, files: dict[str, str]) -> None:
    """Put a compiled workflow's sources where init finds them (what deploy uploads to S3)."""
    from .atomic import write_json_atomic, write_text_atomic

    root = store.workflows_dir(digest)
    if (root / "bundle.json").exists():
        return
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    write_json_atomic(root / "bundle.json", {"main": main, "name": name, "digest": digest})
