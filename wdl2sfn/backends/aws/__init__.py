"""The AWS backend: deploy a compiled workflow into a wdl2sfn stack, start, follow, wait, stop.

Everything goes through boto3, so ``AWS_ENDPOINT_URL`` (moto's server in the tests), profiles,
``AWS_REGION``/``AWS_DEFAULT_REGION`` and the usual credential chain apply.

* **deploy** reads the stack's outputs (CloudFormation DescribeStacks): one per placeholder
  (``InitFunctionArn`` ... ``RunBucket``) plus ``StateMachineRoleArn``; uploads the workflow's
  sources to ``s3://<RunBucket>/_workflows/<digest>/`` (``bundle.json`` last, as the marker init
  looks for); and creates, or updates, the STANDARD state machine ``<stack>-<workflow>`` whose
  definition is the compiled ASL with every ``${Placeholder}`` substituted. Subworkflow machines
  (``${StateMachineArn_<name>}``) are deployed first, as ``<stack>-<subworkflow>``: the names the
  CDK construct gives them. A machine whose definition already matches is left alone.
* **run** deploys if needed, then StartExecution with the DESIGN's execution input
  ``{"inputs", "run": {"name", "s3upload", "delete_after", "no_cache", "tags"}}``. Without
  ``--wait``/``--follow`` it prints the execution and exits 0 (as miniwdl-aws-submit); ``--wait``
  polls DescribeExecution, ``--follow`` also reads GetExecutionHistory into ``Progress``.

See docs/aws-backend.md.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from ...statemachine import asl
from .follow import Detached

EXIT_FAILED = 1
EXIT_USAGE = 2

ROLE_OUTPUT = "StateMachineRoleArn"
CHILD_PREFIX = "StateMachineArn_"
DIGEST_TAG = "wdl2sfn:digest"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
NAME_MAX = 80  # state machine and execution names


class AwsBackendError(Exception):
    """A failure with a message a human can act on; ``exit_code`` 2 when nothing ran yet."""

    def __init__(self, message: str, *, error: str = "AwsBackendError", exit_code: int = 1):
        super().__init__(message)
        self.error = error
        self.exit_code = exit_code


# ---------------------------------------------------------------------------- sessions


@dataclass
class Aws:
    """The boto3 clients one command uses (one region)."""

    region: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import boto3

        self.session = boto3.session.Session(region_name=self.region or None)
        self.region = self.session.region_name
        if not self.region:
            raise AwsBackendError(
                "no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION",
                error="UsageError",
                exit_code=EXIT_USAGE,
            )

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]


def _code(exn: BaseException) -> str:
    response = getattr(exn, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _aws_call(what: str, fn: Any, /, **kwargs: Any) -> Any:
    """Call boto3; turn credential/endpoint/API errors into one actionable message."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kwargs)
    except ClientError as exn:
        raise AwsBackendError(f"{what}: {exn}", error=_code(exn) or "ClientError") from exn
    except BotoCoreError as exn:
        raise AwsBackendError(f"{what}: {exn}", error=type(exn).__name__) from exn


# ---------------------------------------------------------------------------- stack


def stack_outputs(aws: Aws, stack: str) -> dict[str, str]:
    """The stack's outputs, OutputKey -> OutputValue."""
    from botocore.exceptions import ClientError

    cfn = aws.client("cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exn:
        if _code(exn) == "ValidationError" and "does not exist" in str(exn):
            raise AwsBackendError(
                f"stack {stack!r} not found in {aws.region}: deploy the wdl2sfn CDK app "
                "(cdk deploy) or pass --stack NAME",
                error="StackNotFound",
                exit_code=EXIT_USAGE,
            ) from exn
        raise AwsBackendError(f"DescribeStacks {stack}: {exn}", error=_code(exn)) from exn
    except Exception as exn:  # botocore: no credentials, endpoint unreachable, ...
        raise AwsBackendError(f"DescribeStacks {stack}: {exn}", error=type(exn).__name__) from exn
    if not stacks:
        raise AwsBackendError(f"stack {stack!r} not found", error="StackNotFound", exit_code=2)
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def machine_name(stack: str, workflow: str) -> str:
    """``<stack>-<workflow>``; past 80 characters cut with a hash suffix (unique and stable)."""
    return asl.machine_name(stack, workflow, NAME_MAX)


def bundle_marker(compiled: Any) -> dict[str, str]:
    """``bundle.json``: what init reads to find a workflow's sources (uploaded last)."""
    return {"main": compiled.main, "name": compiled.name, "digest": compiled.digest}


def substitute(definition: dict[str, Any], values: dict[str, str], what: str) -> dict[str, Any]:
    """Replace every ``${Name}`` (CloudFormation DefinitionSubstitutions syntax)."""
    text = json.dumps(definition)
    missing = sorted({m for m in PLACEHOLDER.findall(text) if m not in values})
    if missing:
        raise AwsBackendError(
            f"{what}: the stack provides no output for placeholder(s) {', '.join(missing)}; "
            "is it a wdl2sfn stack of the same version and file system?",
            error="MissingStackOutput",
            exit_code=EXIT_USAGE,
        )

    def value(match: re.Match[str]) -> str:
        return json.dumps(values[match.group(1)])[1:-1]  # JSON-escaped, inside a string

    return dict(json.loads(PLACEHOLDER.sub(value, text)))


# ---------------------------------------------------------------------------- deploy


@dataclass
class Deployed:
    name: str
    arn: str
    action: str  # created | updated | unchanged
    digest: str
    bundle: str
    children: dict[str, Deployed] = field(default_factory=dict)
    version_arn: str | None = None  # the version the alias ``live`` points at (versions.py)
    alias_arn: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "state_machine": self.name,
            "state_machine_arn": self.arn,
            "action": self.action,
            "digest": self.digest,
            "bundle": self.bundle,
        }
        if self.version_arn:
            out.update(version_arn=self.version_arn, alias_arn=self.alias_arn)
        if self.children:
            out["children"] = {k: v.as_json() for k, v in self.children.items()}
        return out


def upload_bundle(aws: Aws, bucket: str, compiled: Any) -> str:
    """Sources to ``s3://<bucket>/_workflows/<digest>/`` (skipped when bundle.json is there)."""
    from botocore.exceptions import ClientError

    s3 = aws.client("s3")
    prefix = f"_workflows/{compiled.digest}/"
    uri = f"s3://{bucket}/{prefix}"
    try:
        s3.head_object(Bucket=bucket, Key=prefix + "bundle.json")
        return uri  # content-addressed: already there
    except ClientError as exn:
        if _code(exn) not in ("404", "NoSuchKey", "NotFound"):
            raise AwsBackendError(f"reading {uri}bundle.json: {exn}", error=_code(exn)) from exn
    for rel, text in sorted(compiled.sources.items()):
        _aws_call(
            f"uploading {uri}{rel}",
            s3.put_object,
            Bucket=bucket,
            Key=prefix + rel,
            Body=text.encode(),
            ContentType="text/plain; charset=utf-8",
        )
    marker = bundle_marker(compiled)
    _aws_call(
        f"uploading {uri}bundle.json",
        s3.put_object,
        Bucket=bucket,
        Key=prefix + "bundle.json",
        Body=json.dumps(marker).encode(),
        ContentType="application/json",
    )
    return uri


def find_state_machine(aws: Aws, name: str) -> str | None:
    sfn = aws.client("stepfunctions")
    pages = sfn.get_paginator("list_state_machines").paginate()
    try:
        for page in pages:
            for machine in page.get("stateMachines", []):
                if machine["name"] == name:
                    return str(machine["stateMachineArn"])
    except Exception as exn:
        raise AwsBackendError(f"ListStateMachines: {exn}", error=_code(exn) or "Error") from exn
    return None


def deploy(
    aws: Aws,
    stack: str,
    compiled: Any,
    *,
    outputs: dict[str, str] | None = None,
    role_arn: str | None = None,
    note: Any = None,
    move_live: bool = True,
) -> Deployed:
    """Create or update ``<stack>-<workflow>`` (children first); unchanged machines are kept."""
    outputs = outputs if outputs is not None else stack_outputs(aws, stack)
    bucket = outputs.get("RunBucket")
    if not bucket:
        raise AwsBackendError(
            f"stack {stack!r} has no RunBucket output: is it a wdl2sfn stack?",
            error="MissingStackOutput",
            exit_code=EXIT_USAGE,
        )
    bundle = upload_bundle(aws, bucket, compiled)
    roles = Roles(role_arn or outputs.get(ROLE_OUTPUT), explicit=role_arn is not None)
    deployed = _deploy_machine(aws, stack, compiled, outputs, roles, bundle, note)
    from .versions import publish_live

    deployed.version_arn, deployed.alias_arn = publish_live(aws, deployed.arn, deployed.digest,
                                                           note, move_live)  # fmt: skip
    return deployed


@dataclass(frozen=True)
class Roles:
    """The role new machines get; an explicit ``--role-arn`` also replaces existing machines'
    (without it, a machine keeps its role: the CDK app gives its own machines their own)."""

    arn: str | None
    explicit: bool


def _deploy_machine(
    aws: Aws,
    stack: str,
    compiled: Any,
    outputs: dict[str, str],
    roles: Roles,
    bundle: str,
    note: Any,
) -> Deployed:
    children: dict[str, Deployed] = {}
    values = dict(outputs)
    for key, child in sorted(compiled.children.items()):
        children[key] = _deploy_machine(aws, stack, child, outputs, roles, bundle, note)
        values[CHILD_PREFIX + key] = children[key].arn
    name = machine_name(stack, compiled.name)
    definition = substitute(compiled.definition, values, f"workflow {compiled.name}")
    sfn = aws.client("stepfunctions")
    arn = find_state_machine(aws, name)
    tags = [{"key": DIGEST_TAG, "value": compiled.digest}]
    role = roles.arn
    if arn is None:
        if not role:
            raise AwsBackendError(
                f"cannot create state machine {name}: stack {stack!r} has no {ROLE_OUTPUT} "
                "output (the role Step Functions assumes); add it to the stack or pass --role-arn",
                error="MissingStackOutput",
                exit_code=EXIT_USAGE,
            )
        created = _aws_call(
            f"CreateStateMachine {name}",
            sfn.create_state_machine,
            name=name,
            definition=asl.definition_text(definition),
            roleArn=role,
            type="STANDARD",
            tags=tags,
        )
        action, arn = "created", str(created["stateMachineArn"])
    else:
        current = _aws_call(
            f"DescribeStateMachine {name}", sfn.describe_state_machine, stateMachineArn=arn
        )
        same_role = not roles.explicit or current.get("roleArn") == role
        if _parsed(current.get("definition")) == definition and same_role:
            action = "unchanged"
        else:
            update: dict[str, Any] = {
                "stateMachineArn": arn,
                "definition": asl.definition_text(definition),
            }
            if roles.explicit and role:
                update["roleArn"] = role
            _aws_call(f"UpdateStateMachine {name}", sfn.update_state_machine, **update)
            _aws_call(f"TagResource {name}", sfn.tag_resource, resourceArn=arn, tags=tags)
            action = "updated"
    if note is not None:
        note(f"state machine {name}: {action}")
    return Deployed(name, arn, action, compiled.digest, bundle, children)


def _parsed(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None


def deploy_command(args: Any, compiled: Any) -> int:
    """``wdl2sfn deploy WF.wdl --stack NAME [--region R] [--role-arn ARN] [--rollback]``."""
    try:
        aws = Aws(getattr(args, "region", None))
        if getattr(args, "rollback", False):
            return _rollback(aws, args.stack, compiled)
        deployed = deploy(
            aws,
            args.stack,
            compiled,
            role_arn=getattr(args, "role_arn", None),
            note=_note,
        )
    except AwsBackendError as exn:
        return _fail(exn)
    print(json.dumps(deployed.as_json(), indent=2))
    return 0


def _rollback(aws: Aws, stack: str, compiled: Any) -> int:
    """``deploy --rollback``: ``live`` back one version (nothing is compiled or uploaded)."""
    from .versions import rollback

    name = machine_name(stack, compiled.name)
    arn = find_state_machine(aws, name)
    if arn is None:
        raise AwsBackendError(f"state machine {name} does not exist: nothing to roll back",
                              error="NothingToRollBack", exit_code=EXIT_USAGE)  # fmt: skip
    print(json.dumps({"state_machine": name, **rollback(aws, arn, _note)}, indent=2))
    return 0


# ---------------------------------------------------------------------------- run


def console_url(region: str, execution_arn: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{quote(execution_arn, safe=':')}"
    )


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


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


def run_request(args: Any, inputs: dict[str, Any], name: str) -> dict[str, Any]:
    """The DESIGN's execution input."""
    tags = {}
    for tag in getattr(args, "tag", None) or []:
        if "=" not in tag:
            raise AwsBackendError(
                f"--tag {tag!r}: expected KEY=VALUE", error="UsageError", exit_code=EXIT_USAGE
            )
        key, value = tag.split("=", 1)
        tags[key] = value
    if args.s3upload:
        parsed = urlparse(args.s3upload)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise AwsBackendError(
                f"--s3upload wants s3://bucket/prefix, not {args.s3upload!r}",
                error="UsageError",
                exit_code=EXIT_USAGE,
            )
    return {
        "inputs": inputs,
        "run": {
            "name": name,
            "s3upload": args.s3upload,
            "delete_after": args.delete_after,
            "no_cache": bool(args.no_cache),
            "tags": tags,
        },
    }


def run_on_aws(args: Any, compiled: Any, inputs: dict[str, Any], doc: Any = None) -> int:
    """``wdl2sfn run WF.wdl --backend aws --stack NAME [--wait|--follow] ...``."""
    try:
        started = start_run(args, compiled, inputs, doc)
        if not (args.wait or args.follow):
            print(json.dumps(started.summary(), indent=2))
            return 0
        description = wait_for(started, args)
        return report(started.aws, description, started.request, started.outputs, started.url)
    except AwsBackendError as exn:
        return _fail(exn)
    except Detached as exn:
        return detached(exn)


def detached(exn: Detached) -> int:
    """Ctrl-C while following or waiting: the run goes on; say how to find and stop it."""
    print(json.dumps({"execution_arn": exn.arn, "status": "RUNNING"}, indent=2))
    print(f"wdl2sfn: {exn.message()}", file=sys.stderr)
    return 130


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


def start_run(args: Any, compiled: Any, inputs: dict[str, Any], doc: Any = None) -> Started:
    """Deploy if needed, ship local input files to S3, StartExecution."""
    run_request(args, inputs, "check")  # usage errors before anything is deployed
    aws = Aws(getattr(args, "region", None))
    outputs = stack_outputs(aws, args.stack)
    deployed = deploy(aws, args.stack, compiled, outputs=outputs, note=_note, move_live=False)
    if doc is not None and outputs.get("RunBucket"):
        inputs = ship_inputs(aws, outputs["RunBucket"], doc, inputs)
    else:
        _warn_local_files(inputs)
    name = new_execution_name(aws, deployed.arn, compiled.name)
    request = run_request(args, inputs, name)
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
    from ...progress import scatters_of_calls

    machines = [compiled.definition, *(m.definition for m in compiled.all_machines().values())]
    return Started(aws, arn, deployed.arn, request, outputs, console_url(aws.region, arn),
                   scatters_of_calls(machines), deployed.version_arn)  # fmt: skip


def wait_for(started: Started, args: Any) -> dict[str, Any]:
    """--follow or --wait; Ctrl-C raises Detached (the run goes on)."""
    try:
        _note(f"execution {started.arn}")
        _note(f"console {started.url}")
        if args.follow:
            return follow(started.aws, started.arn, verbose=getattr(args, "verbose", False),
                          scatters_of=started.scatters_of)  # fmt: skip
        return wait(started.aws, started.arn)
    except KeyboardInterrupt:
        raise Detached(started.arn) from None


INPUTS_PREFIX = "inputs-data"
STACK_MOUNTS = ("/mnt/efs/", "/mnt/net/")


def ship_inputs(aws: Aws, bucket: str, doc: Any, inputs: dict[str, Any]) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------- wait / follow


def poll_seconds() -> float:
    return float(os.environ.get("WDL2SFN_POLL_SECONDS", "5"))


def wait(aws: Aws, arn: str) -> dict[str, Any]:
    """Poll DescribeExecution until the execution ends (Ctrl-C: Detached, the run goes on)."""
    sfn = aws.client("stepfunctions")
    try:
        while True:
            description = _aws_call("DescribeExecution", sfn.describe_execution, executionArn=arn)
            if description["status"] in TERMINAL:
                return dict(json_able(description))
            time.sleep(poll_seconds())
    except KeyboardInterrupt:
        raise Detached(arn) from None


def follow(aws: Aws, arn: str, *, verbose: bool = False,
           scatters_of: dict[str, list[str]] | None = None) -> dict[str, Any]:  # fmt: skip
    """The live view of a local run, fed from the run's executions, jobs and logs
    (:mod:`.follow`)."""
    from .follow import follow as follow_run

    return follow_run(aws, arn, verbose=verbose, scatters_of=scatters_of)


def new_events(aws: Aws, arn: str, after_id: int) -> list[dict[str, Any]]:
    """Events with id > after_id, oldest first. Asks for newest-first pages and stops at the first
    page reaching an event already seen, so a poll costs O(new events); a service that ignores
    ``reverseOrder`` (moto does) is still read correctly, by paging on."""
    sfn = aws.client("stepfunctions")
    found: dict[int, dict[str, Any]] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"executionArn": arn, "reverseOrder": True, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = _aws_call("GetExecutionHistory", sfn.get_execution_history, **kwargs)
        events = page.get("events", [])
        ids = [int(e.get("id", 0)) for e in events]
        for event_id, event in zip(ids, events, strict=True):
            if event_id > after_id:
                found[event_id] = json_able(event)
        newest_first = len(ids) < 2 or ids[0] > ids[-1]
        token = page.get("nextToken")
        if not token or (newest_first and ids and min(ids) <= after_id):
            return [found[i] for i in sorted(found)]


def json_able(value: Any) -> Any:
    """boto3's datetimes -> ISO 8601 strings (GetExecutionHistory as history.jsonl holds it)."""
    if isinstance(value, dict):
        return {k: json_able(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [json_able(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    return value


# ---------------------------------------------------------------------------- outcome


def report(
    aws: Aws,
    description: dict[str, Any],
    request: dict[str, Any],
    outputs: dict[str, str],
    url: str,
) -> int:
    """Success: ``{"dir", "outputs"}`` on stdout, exit 0. Else the error JSON, exit 1."""
    status = description["status"]
    result = _parsed(description.get("output")) or {}
    final = result.get("final") if isinstance(result, dict) else None
    run_dir = (final or {}).get("dir")
    if status == "SUCCEEDED":
        s3upload = request["run"].get("s3upload") or f"s3://{outputs.get('RunBucket')}/runs"
        prefix = f"{s3upload.rstrip('/')}/{request['run']['name']}"
        doc = read_s3_json(aws, f"{prefix}/outputs.json")
        print(json.dumps({"dir": prefix, "outputs": doc}, indent=2))
        return 0
    return report_failure(aws, description, url, run_dir)


def report_failure(aws: Aws, description: dict[str, Any], url: str, run_dir: str | None) -> int:
    """As a failed local run: the error JSON on stdout, the message and one summary line on
    stderr, the failed task's exit status as the exit status (1 when stopped)."""
    from . import failures

    try:
        failure = failures.describe(aws.client("stepfunctions"), description)
    except Exception as exn:  # the API failed while looking: still report what is known
        _note(f"warning: could not look into child executions: {exn}")
        error = error_json(description, url, run_dir)
        code = EXIT_FAILED
    else:
        error = failures.error_json(failure, description, url, run_dir)
        code = EXIT_FAILED if description["status"] == "ABORTED" else failure.exit_code()
    print(json.dumps(error, indent=2))
    if "\n" in error["message"]:
        print(error["message"], file=sys.stderr)
    print(f"wdl2sfn: {error['summary']}", file=sys.stderr)
    return code


def read_s3_json(aws: Aws, uri: str) -> Any:
    parsed = urlparse(uri)
    body = _aws_call(
        f"reading {uri}",
        aws.client("s3").get_object,
        Bucket=parsed.netloc,
        Key=parsed.path.lstrip("/"),
    )["Body"].read()
    return json.loads(body)


def error_json(description: dict[str, Any], url: str, run_dir: str | None) -> dict[str, Any]:
    """The failure in the shape of miniwdl's --error-json (as the local backend's), with the
    execution and its console page in place of the local history file."""
    status = description["status"]
    error_type = description.get("error") or status
    cause = description.get("cause") or ""
    message = cause
    parsed = _parsed(cause)
    if isinstance(parsed, dict) and "errorMessage" in parsed:  # a Lambda step raised
        message = str(parsed["errorMessage"])
        error_type = parsed.get("errorType", error_type)
    elif isinstance(parsed, dict) and "StatusReason" in parsed:  # a Batch job description
        message = (
            f"job {parsed.get('JobName', '')} {parsed.get('Status', '')}: {parsed['StatusReason']}"
        )
    first = (message.strip().splitlines() or [str(error_type)])[0]
    if status == "ABORTED":
        summary = f"run stopped: {first or 'aborted'}"
    elif status == "TIMED_OUT":
        summary = f"run timed out: {first}"
    else:
        summary = f"{error_type}: {first}" if first != error_type else first
    return {
        "error": error_type,
        "message": message,
        "summary": f"{summary} (execution {description.get('name', '')}: {url})",
        "status": status,
        "dir": run_dir,
        "execution_arn": description.get("executionArn"),
        "console_url": url,
    }


# ---------------------------------------------------------------------------- output


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fail(exn: AwsBackendError) -> int:
    print(json.dumps({"error": exn.error, "message": str(exn)}, indent=2))
    print(f"wdl2sfn: {exn}", file=sys.stderr)
    return exn.exit_code


__all__ = [
    "AwsBackendError",
    "deploy",
    "deploy_command",
    "run_on_aws",
    "stack_outputs",
    "substitute",
]
