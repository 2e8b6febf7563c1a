"""``wdl2sfn deploy``: a compiled workflow into a wdl2sfn stack.

Reads the stack's outputs (CloudFormation DescribeStacks): one per placeholder (``InitFunctionArn``
... ``RunBucket``) plus ``StateMachineRoleArn``; uploads the workflow's sources to
``s3://<RunBucket>/_workflows/<digest>/`` (``bundle.json`` last, the marker init looks for); and
creates, or updates, the STANDARD state machine ``<stack>-<workflow>`` whose definition is the
compiled ASL with every ``${Placeholder}`` substituted. Subworkflow machines
(``${StateMachineArn_<name>}``) are deployed first, as ``<stack>-<subworkflow>``: the names the
CDK construct gives them. A machine whose definition already matches is left alone; each deploy
then publishes a version and moves the alias ``live`` (versions.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...compiler import asl
from ...contract import (
    BUNDLE_MARKER,
    CHILD_PREFIX,
    ROLE_OUTPUT,
    RUN_BUCKET,
    STACK_TAG,
    bundle_marker,
    machine_name,
)
from ..requests import DeployRequest
from . import (
    DIGEST_TAG,
    EXIT_USAGE,
    PLACEHOLDER,
    Aws,
    AwsBackendError,
    _aws_call,
    _code,
    _note,
    parse_json,
    stack_outputs,
)
from .versions import publish_live, publish_version

if TYPE_CHECKING:
    from ...compiler import CompiledWorkflow


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
            out["version_arn"] = self.version_arn
        if self.alias_arn:
            out["alias_arn"] = self.alias_arn
        if self.children:
            out["children"] = {k: v.as_json() for k, v in self.children.items()}
        return out


def upload_bundle(aws: Aws, bucket: str, compiled: CompiledWorkflow) -> str:
    """Sources to ``s3://<bucket>/_workflows/<digest>/`` (skipped when bundle.json is there)."""
    from botocore.exceptions import ClientError

    s3 = aws.client("s3")
    prefix = f"_workflows/{compiled.digest}/"
    uri = f"s3://{bucket}/{prefix}"
    try:
        s3.head_object(Bucket=bucket, Key=prefix + BUNDLE_MARKER)
        return uri  # content-addressed: already there
    except ClientError as exn:
        if _code(exn) not in ("404", "NoSuchKey", "NotFound"):
            raise AwsBackendError(f"reading {uri}{BUNDLE_MARKER}: {exn}", error=_code(exn)) from exn
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
        f"uploading {uri}{BUNDLE_MARKER}",
        s3.put_object,
        Bucket=bucket,
        Key=prefix + BUNDLE_MARKER,
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
    compiled: CompiledWorkflow,
    *,
    outputs: dict[str, str] | None = None,
    role_arn: str | None = None,
    note: Any = None,
    move_live: bool = True,
) -> Deployed:
    """Create or update ``<stack>-<workflow>`` (children first); unchanged machines are kept."""
    outputs = outputs if outputs is not None else stack_outputs(aws, stack)
    bucket = outputs.get(RUN_BUCKET)
    if not bucket:
        raise AwsBackendError(
            f"stack {stack!r} has no {RUN_BUCKET} output: is it a wdl2sfn stack?",
            error="MissingStackOutput",
            exit_code=EXIT_USAGE,
        )
    bundle = upload_bundle(aws, bucket, compiled)
    roles = Roles(role_arn or outputs.get(ROLE_OUTPUT), explicit=role_arn is not None)
    deployed = _deploy_machine(aws, stack, compiled, outputs, roles, bundle, note)
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
    compiled: CompiledWorkflow,
    outputs: dict[str, str],
    roles: Roles,
    bundle: str,
    note: Any,
) -> Deployed:
    children: dict[str, Deployed] = {}
    values = dict(outputs)
    for key, child in sorted(compiled.children.items()):
        children[key] = _deploy_machine(aws, stack, child, outputs, roles, bundle, note)
        # By version, not by ARN: a parent version must keep running the children it was
        # deployed with (a rollback of the parent rolls them back; see versions.py).
        version = publish_version(aws, children[key].arn, child.digest)
        children[key].version_arn = values[CHILD_PREFIX + key] = version
    name = machine_name(stack, compiled.name)
    definition = substitute(compiled.definition, values, f"workflow {compiled.name}")
    tags = [{"key": DIGEST_TAG, "value": compiled.digest}]
    arn = find_state_machine(aws, name)
    if arn is None:
        action, arn = "created", _create(aws, stack, name, definition, roles, tags)
    else:
        action = _update(aws, arn, name, definition, roles, tags)
    if note is not None:
        note(f"state machine {name}: {action}")
        if action == "updated" and (owner := _cdk_stack_of(aws, arn, name)):
            note(
                f"warning: state machine {name} is managed by the CDK app (stack {owner}): this "
                "update drifts from its template, and the next `cdk deploy` of the app puts the "
                "template's definition back; change the workflow in the CDK app instead"
            )
    return Deployed(name, arn, action, compiled.digest, bundle, children)


def _cdk_stack_of(aws: Aws, arn: str, name: str) -> str | None:
    """The stack whose CDK app created the machine (its ``wdl2sfn:stack`` tag), if any."""
    sfn = aws.client("stepfunctions")
    found = _aws_call(f"ListTagsForResource {name}", sfn.list_tags_for_resource, resourceArn=arn)
    tags = {t.get("key"): t.get("value") for t in found.get("tags", [])}
    return tags.get(STACK_TAG)


def _create(
    aws: Aws, stack: str, name: str, definition: Any, roles: Roles, tags: list[dict[str, str]]
) -> str:
    """CreateStateMachine with the stack's role (or --role-arn): the new machine's ARN."""
    if not roles.arn:
        raise AwsBackendError(
            f"cannot create state machine {name}: stack {stack!r} has no {ROLE_OUTPUT} "
            "output (the role Step Functions assumes); add it to the stack or pass --role-arn",
            error="MissingStackOutput",
            exit_code=EXIT_USAGE,
        )
    sfn = aws.client("stepfunctions")
    created = _aws_call(
        f"CreateStateMachine {name}",
        sfn.create_state_machine,
        name=name,
        definition=asl.definition_text(definition),
        roleArn=roles.arn,
        type="STANDARD",
        tags=tags,
    )
    return str(created["stateMachineArn"])


def _update(
    aws: Aws, arn: str, name: str, definition: Any, roles: Roles, tags: list[dict[str, str]]
) -> str:
    """UpdateStateMachine unless definition (and an explicit role) are as deployed: the action.
    Without --role-arn a machine keeps its role (the CDK app gives its machines their own)."""
    sfn = aws.client("stepfunctions")
    current = _aws_call(
        f"DescribeStateMachine {name}", sfn.describe_state_machine, stateMachineArn=arn
    )
    same_role = not roles.explicit or current.get("roleArn") == roles.arn
    if parse_json(current.get("definition")) == definition and same_role:
        return "unchanged"
    update: dict[str, Any] = {"stateMachineArn": arn, "definition": asl.definition_text(definition)}
    if roles.explicit and roles.arn:
        update["roleArn"] = roles.arn
    _aws_call(f"UpdateStateMachine {name}", sfn.update_state_machine, **update)
    _aws_call(f"TagResource {name}", sfn.tag_resource, resourceArn=arn, tags=tags)
    return "updated"


def deploy_request(stack: str, region: str | None, request: DeployRequest) -> dict[str, Any]:
    """``wdl2sfn deploy WF.wdl --stack NAME [--region R] [--role-arn ARN] [--rollback]``: what
    was deployed (or where ``live`` now points)."""
    aws = Aws(region)
    if request.rollback:
        return _rollback(aws, stack, request.compiled)
    deployed = deploy(aws, stack, request.compiled, role_arn=request.role_arn, note=_note)
    return dict(deployed.as_json())


def _rollback(aws: Aws, stack: str, compiled: CompiledWorkflow) -> dict[str, Any]:
    """``deploy --rollback``: ``live`` back one version (nothing is compiled or uploaded)."""
    from .versions import rollback

    name = machine_name(stack, compiled.name)
    arn = find_state_machine(aws, name)
    if arn is None:
        raise AwsBackendError(f"state machine {name} does not exist: nothing to roll back",
                              error="NothingToRollBack", exit_code=EXIT_USAGE)  # fmt: skip
    return {"state_machine": name, **rollback(aws, arn, _note)}
