"""Versions of a workflow's state machine, and the alias ``live`` runs start on.

Every `wdl2sfn deploy` (and the deploy `run --backend aws` does first) publishes a version of the
machine's current revision (``PublishStateMachineVersion`` is idempotent: an unchanged machine
keeps its version) and points ``live`` at it. `run` starts the version of the workflow it was
given (and moves ``live`` only to create it), so each execution names the version it ran
(DescribeExecution's ``stateMachineVersionArn``) and a rollback is not undone by the next run;
whoever starts ``live`` (a script, ``aws stepfunctions start-execution``) gets the rolled-back
version. ``deploy --rollback`` points
``live`` at the newest version older than the one it points at now (run it again to go further
back); the next deploy moves it forward again. A parent names its child machines (subworkflows,
parts) by the version published with it, so each parent version runs the children it was
deployed with, and rolling the parent back rolls them back too. Versions are never deleted here: AWS keeps up to
1,000 per machine (delete old ones with ``aws stepfunctions delete-state-machine-version``).
"""

from __future__ import annotations

from typing import Any

from ...contract import ALIAS
from . import EXIT_USAGE, Aws, AwsBackendError, _aws_call


def version_number(arn: str) -> int:
    return int(arn.rsplit(":", 1)[-1])


def alias_arn(machine_arn: str) -> str:
    return f"{machine_arn}:{ALIAS}"


def live_version(aws: Aws, machine_arn: str) -> str | None:
    """The version ``live`` points at (its heaviest route), or None when there is no alias."""
    sfn = aws.client("stepfunctions")
    try:
        alias = sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn(machine_arn))
    except sfn.exceptions.ResourceNotFound:
        return None
    routes = alias.get("routingConfiguration") or []
    best = max(routes, key=lambda r: int(r["weight"]), default=None)
    return str(best["stateMachineVersionArn"]) if best else None


def publish_live(
    aws: Aws, machine_arn: str, digest: str, note: Any = None, move: bool = True
) -> tuple[str, str]:
    """Publish the current revision (or find its version) and point ``live`` at it (with
    ``move=False`` only when there is no ``live`` yet): (version ARN, alias ARN)."""
    version = publish_version(aws, machine_arn, digest)
    before = live_version(aws, machine_arn)
    if move or before is None:
        point_live(aws, machine_arn, version, before, note)
    return version, alias_arn(machine_arn)


def publish_version(aws: Aws, machine_arn: str, digest: str) -> str:
    """The version of the machine's current revision (published now, or the one that is)."""
    sfn = aws.client("stepfunctions")
    name = machine_arn.rsplit(":", 1)[-1]
    published = _aws_call(f"PublishStateMachineVersion {name}", sfn.publish_state_machine_version,
                          stateMachineArn=machine_arn, description=f"wdl2sfn {digest}")  # fmt: skip
    return str(published["stateMachineVersionArn"])


def point_live(
    aws: Aws, machine_arn: str, version: str, before: str | None, note: Any = None
) -> None:
    """Create ``live`` on ``version`` (``before`` is None: there is no ``live``), or move it
    there from ``before`` (the caller has read it already)."""
    sfn = aws.client("stepfunctions")
    routing = [{"stateMachineVersionArn": version, "weight": 100}]
    if before is None:
        _aws_call(f"CreateStateMachineAlias {ALIAS}", sfn.create_state_machine_alias,
                  name=ALIAS, routingConfiguration=routing,
                  description="the version wdl2sfn runs start on")  # fmt: skip
    elif before != version:
        _aws_call(f"UpdateStateMachineAlias {ALIAS}", sfn.update_state_machine_alias,
                  stateMachineAliasArn=alias_arn(machine_arn), routingConfiguration=routing)  # fmt: skip
    if note is not None and before != version:
        note(f"alias {ALIAS}: version {version_number(version)}")


def rollback(aws: Aws, machine_arn: str, note: Any = None) -> dict[str, Any]:
    """Point ``live`` at the newest version older than the one it points at."""
    current = live_version(aws, machine_arn)
    name = machine_arn.rsplit(":", 1)[-1]
    if current is None:
        raise AwsBackendError(f"{name} has no alias {ALIAS!r}: deploy it first",
                              error="NothingToRollBack", exit_code=EXIT_USAGE)  # fmt: skip
    older = [v for v in _versions(aws, machine_arn) if version_number(v) < version_number(current)]
    if not older:
        raise AwsBackendError(
            f"{name}: {ALIAS} is on version {version_number(current)}, the oldest there is",
            error="NothingToRollBack",
            exit_code=EXIT_USAGE,
        )
    target = max(older, key=version_number)
    point_live(aws, machine_arn, target, current, note)
    return {"state_machine_arn": machine_arn, "alias_arn": alias_arn(machine_arn),
            "from_version_arn": current, "to_version_arn": target}  # fmt: skip


def _versions(aws: Aws, machine_arn: str) -> list[str]:
    sfn = aws.client("stepfunctions")
    found: list[str] = []
    token: str | None = None
    while True:
        page = _aws_call("ListStateMachineVersions", sfn.list_state_machine_versions,
                         stateMachineArn=machine_arn, **({"nextToken": token} if token else {}))  # fmt: skip
        found += [str(v["stateMachineVersionArn"]) for v in page.get("stateMachineVersions", [])]
        token = page.get("nextToken")
        if not token:
            return found
