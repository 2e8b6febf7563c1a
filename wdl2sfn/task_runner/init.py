"""The init step: execution input (or an EventBridge event) -> the run record in the store.

Accepted inputs:
* `{"inputs": {...}, "run": {"name", "s3upload", "delete_after", "no_cache", "tags"}}` (wdl2sfn run);
* `{"inputs_ref": KEY, "run": {...}}`: inputs too large for the execution input, in the run store
  under KEY (in the run bucket on AWS; a path under the store's root locally);
* an EventBridge "Object Created" event for an inputs JSON in S3 (the file holds the inputs, or
  the whole `{"inputs", "run"}` request);
* a schedule's constant input, which is the first form.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import WDL

from .. import wdl
from ..contract import BUNDLE_MARKER
from ..contract.execution import INPUTS_REF
from .bundle import fetch_bundle, write_bundle
from .errors import WdlInputError
from .localize import check_fetchable, is_uri, uri_and_local_paths
from .store import RunStore

__all__ = [
    "normalize_request",
    "validate_inputs",
    "initialize_run",
    "check_run_name",
    "check_file_inputs",
    "fetch_bundle",
    "write_bundle",
]

RUN_OPTIONS = (
    "name",
    "s3upload",
    "delete_after",
    "no_cache",
    "tags",
    "copy_input_files",
    "env",
    "runtime_defaults",
)


def normalize_request(
    raw: Any, s3: Any = None, read_ref: Callable[[str], bytes] | None = None
) -> dict[str, Any]:
    """Whatever started the execution -> {"inputs": {...}, "run": {...}}; ``read_ref(key)``
    reads inputs the execution input carries by reference (``inputs_ref``)."""
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
        return normalize_request(raw["detail"], s3, read_ref)
    if INPUTS_REF in raw:
        raw = {**raw, "inputs": _referenced_inputs(raw[INPUTS_REF], read_ref)}
    inputs = raw.get("inputs", {})
    if not isinstance(inputs, dict):
        raise WdlInputError("execution input field 'inputs' must be a JSON object")
    return {"inputs": inputs, "run": dict(raw.get("run") or {})}


def _referenced_inputs(key: Any, read_ref: Callable[[str], bytes] | None) -> Any:
    """The inputs JSON stored under ``key``: a relative key without ``..``, so a crafted
    execution input cannot make init read a file outside the store."""
    parts = PurePosixPath(key).parts if isinstance(key, str) else ()
    if not parts or key.startswith("/") or ".." in parts or read_ref is None:
        raise WdlInputError(f"execution input field {INPUTS_REF!r}: not a store key: {key!r}")
    try:
        return json.loads(read_ref(key))
    except (OSError, KeyError) as exn:
        raise WdlInputError(f"inputs {key} not found in the run store: {exn}") from exn
    except (json.JSONDecodeError, UnicodeDecodeError) as exn:
        raise WdlInputError(f"inputs {key}: not JSON: {exn}") from exn


def read_store_key(settings: Any, key: str) -> bytes:
    """A key of the run store: an object of the run bucket on AWS (where the CLI put it, as
    the init function may read the bucket), else a file under the store's root."""
    if settings.run_bucket:
        from botocore.exceptions import ClientError

        try:
            body = _s3_client(settings.s3).get_object(Bucket=settings.run_bucket, Key=key)
        except ClientError as exn:
            raise KeyError(f"s3://{settings.run_bucket}/{key}: {exn}") from exn
        return bytes(body["Body"].read())
    store: RunStore = settings.store
    return store.key_path(key).read_bytes()


def _s3_client(s3: Any) -> Any:
    if s3 is not None:
        return s3
    import boto3

    return boto3.client("s3")


def validate_inputs(workflow: WDL.Tree.Workflow, inputs: dict[str, Any]) -> dict[str, Any]:
    """miniwdl's input checks: unknown names, wrong types, missing required inputs."""
    return dict(WDL.values_to_json(input_values(workflow, inputs), namespace=workflow.name))


def input_values(
    workflow: WDL.Tree.Workflow, inputs: dict[str, Any]
) -> WDL.Env.Bindings[WDL.Value.Base]:
    """The checked inputs as WDL values, made once: :func:`check_file_inputs` takes them too
    (parsing 300,000 File values costs seconds)."""
    try:
        env = WDL.values_from_json(
            inputs, workflow.available_inputs, workflow.required_inputs, namespace=workflow.name
        )
    except WDL.Error.InputError as exn:
        raise WdlInputError(str(exn)) from exn
    except (WDL.Error.RuntimeError, ValueError, TypeError) as exn:  # coercion failures
        raise WdlInputError(f"invalid input: {exn}") from exn
    return env


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_run_name(name: Any) -> str:
    """A run name is a folder name beside other runs, ``_CACHE`` and ``_workflows``: letters,
    digits, ``.``, ``_`` and ``-``, starting with a letter or digit, at most 128 characters."""
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise WdlInputError(
            f"invalid run name {name!r}: use 1-128 letters, digits, '.', '_' or '-', starting "
            f"with a letter or digit",
            run=str(name),
        )
    return name


def initialize_run(settings: Any, event: dict[str, Any], load: Any = None) -> dict[str, Any]:
    """`load(digest, path)` loads (or recalls) the workflow document; default: parse the file.

    Idempotent for a retried init (same workflow, same inputs); a different request under the
    name of an existing run is refused, never merged into it."""
    store: RunStore = settings.store
    request = normalize_request(
        event.get("input") or {}, settings.s3, lambda key: read_store_key(settings, key)
    )
    wf = event["workflow"]
    opts = {k: v for k, v in request["run"].items() if k in RUN_OPTIONS or k == "source"}
    name = check_run_name(
        opts.get("name")
        or f"{wf['name']}_{event.get('execution') or time.strftime('%Y%m%d_%H%M%S')}"
    )
    run_dir = store.run_dir(name)
    bundle = fetch_bundle(settings, wf["digest"])
    meta = json.loads((bundle / BUNDLE_MARKER).read_text())
    main = bundle / meta["main"]
    check_quant = wf.get("check_quant", True) is not False
    doc = (
        load(wf["digest"], main)
        if load is not None
        else wdl.load(str(main), check_quant=check_quant)
    )
    assert doc.workflow is not None
    values = input_values(doc.workflow, request["inputs"])
    inputs = dict(WDL.values_to_json(values, namespace=doc.workflow.name))
    check_file_inputs(doc.workflow, inputs, settings.store.root, settings.s3, values)
    record = {
        "name": name,
        "execution": event.get("execution"),
        "workflow": {
            "name": wf["name"],
            "digest": wf["digest"],
            "main": meta["main"],
            **({} if check_quant else {"check_quant": False}),
        },
        "inputs": inputs,
        "options": opts,
        # the job queues' ARNs, as the machine's init step was deployed with them
        **({"queues": dict(event["queues"])} if event.get("queues") else {}),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _claim(store, run_dir, record)
    shutil.copytree(bundle, run_dir / "wdl", dirs_exist_ok=True)
    store.write_json(run_dir / RunStore.INPUTS, inputs)
    return {"run": name}


def _claim(store: RunStore, run_dir: Path, record: dict[str, Any]) -> None:
    """Create ``run.json`` only if it does not exist (a hard link of a complete temp file, so
    of two inits racing for one name exactly one wins); an existing record must be this run."""
    run_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".run.json.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, run_dir / RunStore.RECORD)
        return
    except FileExistsError:
        existing = store.read_json(run_dir / RunStore.RECORD)
    finally:
        os.unlink(tmp)
    same = existing.get("workflow", {}).get("digest") == record["workflow"]["digest"]
    if not (same and existing.get("inputs") == record["inputs"]):
        raise WdlInputError(
            f"run {record['name']!r} already exists in {run_dir} with another workflow or "
            f"other inputs: choose another run name",
            run=record["name"],
        )
    if "queues" in record and "queues" not in existing:  # a run begun before init carried them
        store.write_json(run_dir / RunStore.RECORD, {**existing, "queues": record["queues"]})


def check_file_inputs(
    workflow: WDL.Tree.Workflow,
    inputs: dict[str, Any],
    store_root: Path,
    s3: Any = None,
    values: WDL.Env.Bindings[WDL.Value.Base] | None = None,
) -> None:
    """Every File/Directory input must be there before anything runs, as miniwdl downloads
    every URI input at start: a local path must exist, a URI must be fetchable (even one no
    call uses, which would otherwise pass to the outputs unchecked)."""
    env = (
        values
        if values is not None
        else WDL.values_from_json(inputs, workflow.available_inputs, namespace=workflow.name)
    )
    for path, directory in uri_and_local_paths(env):
        kind = "Directory" if directory else "File"
        if is_uri(path):
            check_fetchable(path, directory=directory, s3_client=s3)
        elif not (os.path.isdir(path) if directory else os.path.isfile(path)):
            raise WdlInputError(f"input {kind} not found: {path}", path=path)
