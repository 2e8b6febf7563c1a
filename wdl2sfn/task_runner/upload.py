"""The upload step: outputs and logs to S3 (`--s3upload`), outputs.json rewritten to S3 URIs."""

from __future__ import annotations

import os
import shutil
from typing import Any
from urllib.parse import urlparse

from .store import RunStore

LOG_NAMES = (RunStore.STDOUT, RunStore.STDERR, RunStore.COMMAND, RunStore.TASK_LOG, RunStore.ERROR)


DEFAULT_PREFIX = "runs"


def upload_destination(settings: Any, options: dict[str, Any]) -> str | None:
    """``--s3upload``, else on AWS ``s3://<RunBucket>/runs``: every AWS run's outputs and logs
    land in S3 (the file system is out of the user's reach); locally only when asked."""
    if options.get("s3upload"):
        return str(options["s3upload"])
    bucket = getattr(settings, "run_bucket", None)
    return f"s3://{bucket}/{DEFAULT_PREFIX}" if bucket else None


def upload_run(settings: Any, run: str) -> dict[str, Any]:
    store: RunStore = settings.store
    run_dir = store.run_dir(run)
    record = store.read_json(run_dir / RunStore.RECORD)
    options = record.get("options", {})
    dest = upload_destination(settings, options)
    if not dest:
        return {"uploaded": 0}
    s3 = settings.s3
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    bucket, prefix = _split(dest)
    prefix = f"{prefix.rstrip('/')}/{run}" if prefix else run
    outputs = store.read_json(run_dir / RunStore.OUTPUTS)
    uploaded: dict[str, str] = {}

    def put(path: str) -> str:
        if path not in uploaded:
            rel = (
                os.path.relpath(path, run_dir)
                if path.startswith(str(run_dir))
                else os.path.basename(path)
            )
            key = f"{prefix}/{rel}"
            s3.upload_file(path, bucket, key)
            uploaded[path] = f"s3://{bucket}/{key}"
        return uploaded[path]

    rewritten = _rewrite(outputs, lambda p: put(p) if os.path.isfile(p) else p)
    for log in _logs(run_dir):
        put(str(log))
    store.write_json(run_dir / "outputs.local.json", outputs)
    store.write_json(run_dir / RunStore.OUTPUTS, rewritten)
    s3.upload_file(str(run_dir / RunStore.OUTPUTS), bucket, f"{prefix}/{RunStore.OUTPUTS}")
    if options.get("delete_after") in ("always", "success"):
        shutil.rmtree(run_dir / RunStore.CALLS, ignore_errors=True)
    return {"uploaded": len(uploaded), "outputs": f"s3://{bucket}/{prefix}/outputs.json"}


def _split(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"--s3upload wants s3://bucket/prefix, not {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def _rewrite(value: Any, fn: Any) -> Any:
    """Apply fn to every string that names an existing file inside an outputs JSON value."""
    if isinstance(value, dict):
        return {k: _rewrite(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, fn) for v in value]
    if isinstance(value, str) and value.startswith("/"):
        return fn(value)
    return value


def _logs(run_dir: Any) -> list[Any]:
    calls = run_dir / RunStore.CALLS
    if not calls.exists():
        return []
    return [p for p in calls.rglob("*") if p.name in LOG_NAMES and p.is_file()]
