"""``wdl2sfn run --backend aws``: deploy if needed, ship local inputs to S3, StartExecution.

The execution input is the DESIGN's ``{"inputs", "run": {"name", "s3upload", "delete_after",
"no_cache", "tags"}}``; inputs over 64 KiB of JSON go to the run bucket and ``inputs_ref`` carries
their key instead. Without ``--wait``/``--follow`` it prints the execution and exits 0 (as
miniwdl-aws-submit); ``--wait`` polls DescribeExecution, ``--follow`` renders the live view.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ...contract import RUN_BUCKET
from ...contract.execution import ExecutionInputError, execution_input
from ..requests import RunOptions, RunOutcome, RunRequest
from . import (
    EXIT_USAGE,
    NAME_MAX,
    Aws,
    AwsBackendError,
    _aws_call,
    _code,
    _note,
    execution_arn,
    stack_outputs,
)
from .deploy import deploy
from .follow import follow as follow_run
from .outcome import outcome_of
from .wait import Detached, wait

if TYPE_CHECKING:
    import WDL

    from ...compiler import CompiledWorkflow


def console_url(region: str, execution_arn: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{quote(execution_arn, safe=':')}"
    )


def new_execution_name(aws: Aws, state_machine_arn: str, workflow: str) -> str:
    """miniwdl's run naming ``<timestamp>_<workflow>``, made unique among the machine's runs
    (StartExecution with a running execution's name and input would silently return it)."""
    from botocore.exceptions import ClientError

    sfn = aws.client("stepfunctions")
    stamp = time.strftime("%Y%m%d_%H%M%S")
    base = re.sub(r"[^A-Za-z0-9_-]", "_", f"{stamp}_{workflow}")[: NAME_MAX - 4]
    for n in range(1, 1000):
        name = base if n == 1 else f"{base}_{n}"
        try:
            sfn.describe_execution(executionArn=execution_arn(state_machine_arn, name))
        except ClientError as exn:
            if _code(exn) == "ExecutionDoesNotExist":
                return name
            raise AwsBackendError(f"DescribeExecution: {exn}", error=_code(exn)) from exn
    raise AwsBackendError(f"no free execution name for {base}")


def run_request(
    options: RunOptions,
    inputs: dict[str, Any],
    name: str,
    store_inputs: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The DESIGN's execution input (the contract's one builder); a bad tag or ``--s3upload``
    is a usage error (exit 2) before anything is deployed. ``store_inputs`` puts inputs too
    large for the execution input in the run bucket (see :func:`put_inputs`)."""
    try:
        return execution_input(
            inputs,
            name,
            s3upload=options.s3upload,
            delete_after=options.delete_after,
            no_cache=options.no_cache,
            tags=options.tags,
            store_inputs=store_inputs,
        )
    except ExecutionInputError as exn:
        raise AwsBackendError(str(exn), error="UsageError", exit_code=EXIT_USAGE) from None


def run_on_aws(stack: str, region: str | None, request: RunRequest) -> RunOutcome:
    """``wdl2sfn run WF.wdl --backend aws --stack NAME [--wait|--follow] ...``."""
    options = request.options
    started = start_run(stack, region, options, request.compiled, request.inputs, request.doc)
    if not (options.wait or options.follow):
        return RunOutcome(started.summary())
    try:
        description = wait_for(started.aws, started.arn, started.url, follow=options.follow,
                               verbose=options.verbose, scatters_of=started.scatters_of)  # fmt: skip
    except Detached as exn:
        return detached(exn)
    return outcome_of(started.aws, description, started.request, started.outputs, started.url)


def detached(exn: Detached) -> RunOutcome:
    """Ctrl-C while following or waiting: the run goes on; say how to find and stop it."""
    return RunOutcome(
        {"execution_arn": exn.arn, "status": "RUNNING"}, 130, [f"wdl2sfn: {exn.message()}"]
    )


@dataclass
class Started:
    """An execution StartExecution accepted, and what reporting on it needs."""

    aws: Aws
    arn: str
    machine_arn: str
    request: dict[str, Any]
    outputs: dict[str, str]
    url: str
    scatters_of: dict[str, list[str]] = field(default_factory=dict)
    version_arn: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "execution_arn": self.arn,
            "state_machine_arn": self.machine_arn,
            "state_machine_version_arn": self.version_arn,
            "run": self.request["run"],
            "console_url": self.url,
        }


def start_run(
    stack: str,
    region: str | None,
    options: RunOptions,
    compiled: CompiledWorkflow,
    inputs: dict[str, Any],
    doc: WDL.Tree.Document | None = None,
) -> Started:
    """Deploy if needed, ship local input files to S3, StartExecution."""
    run_request(options, inputs, "check")  # usage errors before anything is deployed
    aws = Aws(region)
    outputs = stack_outputs(aws, stack)
    deployed = deploy(aws, stack, compiled, outputs=outputs, note=_note, move_live=False)
    if doc is not None and outputs.get(RUN_BUCKET):
        inputs = ship_inputs(aws, outputs[RUN_BUCKET], doc, inputs)
    else:
        _warn_local_files(inputs)
    name = new_execution_name(aws, deployed.arn, compiled.name)
    bucket = outputs.get(RUN_BUCKET)
    request = run_request(
        options, inputs, name, (lambda text: put_inputs(aws, bucket, text)) if bucket else None
    )
    sfn = aws.client("stepfunctions")
    started = _aws_call(
        f"StartExecution {deployed.name}",
        sfn.start_execution,
        stateMachineArn=deployed.version_arn or deployed.arn,  # executions name their version
        name=name,
        input=json.dumps(request),
    )
    arn = str(started["executionArn"])
    assert aws.region is not None
    from ...runs.progress import scatters_of_calls

    machines = [compiled.definition, *(m.definition for m in compiled.all_machines().values())]
    return Started(aws, arn, deployed.arn, request, outputs, console_url(aws.region, arn),
                   scatters_of_calls(machines), deployed.version_arn)  # fmt: skip


def wait_for(
    aws: Aws,
    arn: str,
    url: str,
    *,
    follow: bool = False,
    verbose: bool = False,
    scatters_of: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """--follow or --wait; Ctrl-C raises Detached (the run goes on)."""
    try:
        _note(f"execution {arn}")
        _note(f"console {url}")
        if follow:
            return follow_run(aws, arn, verbose=verbose, scatters_of=scatters_of or {})
        return wait(aws, arn)
    except KeyboardInterrupt:
        raise Detached(arn) from None


INPUTS_PREFIX = "inputs-data"


STACK_MOUNTS = ("/mnt/efs/", "/mnt/net/")


def ship_inputs(
    aws: Aws, bucket: str, doc: WDL.Tree.Document, inputs: dict[str, Any]
) -> dict[str, Any]:
    """Local File/Directory inputs -> ``s3://<bucket>/inputs-data/<sha256>/<name>`` (uploaded
    once: content-addressed), rewritten to those URIs; URIs and stack paths pass through."""
    import WDL

    workflow = doc.workflow or doc.tasks[0]
    env = WDL.values_from_json(inputs, workflow.available_inputs, namespace=workflow.name)

    def ship(value: Any) -> str:
        path = str(value.value)
        if "://" in path or path.startswith(STACK_MOUNTS) or not os.path.exists(path):
            return path
        return upload_path(aws, bucket, path, isinstance(value, WDL.Value.Directory))

    shipped = WDL.Value.rewrite_env_paths(env, ship)
    return dict(WDL.values_to_json(shipped, namespace=workflow.name))


def put_inputs(aws: Aws, bucket: str, text: str) -> str:
    """Inputs too large for the execution input (Step Functions: "The maximum input or output
    size for a task, state, or execution is 256 KiB") -> ``inputs-data/requests/<sha256>.json``
    in the run bucket, which the init function may read; returns the key init reads."""
    import hashlib

    body = text.encode()
    key = f"{INPUTS_PREFIX}/requests/{hashlib.sha256(body).hexdigest()}.json"
    s3 = aws.client("s3")
    _aws_call(f"uploading the inputs to s3://{bucket}/{key}", s3.put_object,
              Bucket=bucket, Key=key, Body=body, ContentType="application/json")  # fmt: skip
    return key


def upload_path(aws: Aws, bucket: str, path: str, directory: bool) -> str:
    import hashlib

    files = sorted(p for p in Path(path).rglob("*") if p.is_file()) if directory else [Path(path)]
    digest = hashlib.sha256()
    for f in files:
        digest.update(str(f.relative_to(path) if directory else f.name).encode())
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    prefix = f"{INPUTS_PREFIX}/{digest.hexdigest()[:32]}/{Path(path).name}"
    s3 = aws.client("s3")
    for f in files:
        key = f"{prefix}/{f.relative_to(path).as_posix()}" if directory else prefix
        if not _exists(s3, bucket, key):
            _note(f"uploading {f} to s3://{bucket}/{key}")
            _aws_call(f"uploading {f}", s3.upload_file, Filename=str(f), Bucket=bucket, Key=key)
    return f"s3://{bucket}/{prefix}" + ("/" if directory else "")


def _exists(s3: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError:
        return False


def _warn_local_files(inputs: dict[str, Any]) -> None:
    """Local paths exist only here: AWS jobs see s3:// and https:// URIs, or the stack's FS."""
    for key, value in _strings(inputs):
        if value.startswith("/") and os.path.exists(value):
            _note(
                f"warning: input {key} = {value} is a path on this machine; "
                "AWS jobs cannot read it unless it is on the stack's file system (use s3://)"
            )


def _strings(value: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{key}.{k}" if key else k)]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{key}[{i}]")]
    return [(key, value)] if isinstance(value, str) else []
