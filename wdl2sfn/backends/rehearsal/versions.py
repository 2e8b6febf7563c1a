"""State machine versions and aliases in moto, as Step Functions has them.

moto stores versions (``publish=True`` on Create/UpdateStateMachine) and aliases, but has no
``PublishStateMachineVersion`` or ``ListStateMachineVersions``, cannot start an execution on a
version or alias ARN, and leaves ``stateMachineVersionArn``/``stateMachineAliasArn`` out of
DescribeExecution. These patches add exactly that, so `wdl2sfn deploy` (which publishes a version
and points the alias ``live`` at it), `deploy --rollback` and runs started on ``live`` behave as
on AWS. The rehearsal installs them with its other hooks; tests/aws installs them alone.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from .redrives import described

_ORIGINALS: dict[str, Any] = {}


def install() -> None:
    """Patch moto (idempotent)."""
    from moto.stepfunctions.models import StepFunctionBackend
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    if _ORIGINALS:
        return
    _ORIGINALS["parser_start"] = StepFunctionsParserBackend.start_execution
    StepFunctionsParserBackend.start_execution = _parser_start  # type: ignore[method-assign]
    _ORIGINALS["start"] = StepFunctionBackend.start_execution
    _ORIGINALS["describe"] = StepFunctionResponse.describe_execution
    StepFunctionBackend.start_execution = _start_execution  # type: ignore[method-assign]
    StepFunctionResponse.describe_execution = _describe_execution  # type: ignore[method-assign]
    StepFunctionResponse.publish_state_machine_version = _publish  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = _list_versions  # type: ignore[attr-defined]


def uninstall() -> None:
    from moto.stepfunctions.models import StepFunctionBackend
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    if not _ORIGINALS:
        return
    StepFunctionsParserBackend.start_execution = _ORIGINALS.pop("parser_start")  # type: ignore[method-assign]
    StepFunctionBackend.start_execution = _ORIGINALS.pop("start")  # type: ignore[method-assign]
    StepFunctionResponse.describe_execution = _ORIGINALS.pop("describe")  # type: ignore[method-assign]
    del StepFunctionResponse.publish_state_machine_version  # type: ignore[attr-defined]
    del StepFunctionResponse.list_state_machine_versions  # type: ignore[attr-defined]


def _machine(backend: Any, arn: str) -> Any:
    from moto.stepfunctions.exceptions import StateMachineDoesNotExist

    found = next((m for m in backend.state_machines if m.arn == arn), None)
    if found is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
    return found


def resolve(backend: Any, arn: str) -> tuple[Any, Any, str | None] | None:
    """(machine, version, alias ARN) for a version or alias ARN; None for a machine ARN. An
    alias routes by its weights, as Step Functions does."""
    from moto.stepfunctions.exceptions import StateMachineDoesNotExist

    parts = arn.split(":")
    if len(parts) != 8:
        return None
    machine = _machine(backend, ":".join(parts[:7]))
    alias_arn = None
    if not parts[7].isdigit():
        alias = machine.aliases.get(parts[7])
        if alias is None:
            raise StateMachineDoesNotExist(f"State Machine Alias Does Not Exist: '{arn}'")
        routes = alias.routing_configuration
        chosen = random.choices(routes, weights=[int(r["weight"]) for r in routes])[0]
        alias_arn, parts = arn, str(chosen["stateMachineVersionArn"]).split(":")
    version = machine.versions.get(int(parts[7]))
    if version is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{':'.join(parts)}'")
    return machine, version, alias_arn


def _start_execution(self: Any, state_machine_arn: str, name: str, execution_input: str) -> Any:
    """StartExecution on a version or alias: the machine's execution, run with the version's
    definition and role; the execution remembers both ARNs."""
    target = resolve(self, state_machine_arn)
    if target is None:
        return _ORIGINALS["start"](self, state_machine_arn, name, execution_input)
    machine, version, alias_arn = target
    if name:
        self._validate_name(name)
    view = copy.copy(machine)  # shares the executions list; runs the version's revision
    view.definition, view.roleArn = version.definition, version.roleArn
    execution = view.start_execution(self.region_name, self.account_id,
                                     name or _uuid(), execution_input)  # fmt: skip
    execution.state_machine_version_arn = version.arn
    execution.state_machine_alias_arn = alias_arn
    return execution


def _parser_start(self: Any, state_machine_arn: str, name: Any = None,
                  execution_input: Any = None, trace_header: Any = None) -> Any:  # fmt: skip
    """The same for moto's ASL interpreter (``execute_state_machine``, tests/aws only): it runs
    the machine's current revision, which is the version ``live`` names unless rolled back."""
    target = resolve(self, state_machine_arn)
    if target is None:
        return _ORIGINALS["parser_start"](self, state_machine_arn, name, execution_input,
                                          trace_header)  # fmt: skip
    machine, version, alias_arn = target
    execution = _ORIGINALS["parser_start"](self, machine.arn, name, execution_input, trace_header)
    execution.state_machine_version_arn = version.arn
    execution.state_machine_alias_arn = alias_arn
    return execution


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def _describe_execution(self: Any) -> Any:
    answer = _ORIGINALS["describe"](self)
    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
    for key, attr in (("stateMachineVersionArn", "state_machine_version_arn"),
                      ("stateMachineAliasArn", "state_machine_alias_arn")):  # fmt: skip
        if getattr(execution, attr, None):
            answer.result[key] = getattr(execution, attr)
    if getattr(execution, "_rehearsal", None) is not None:
        answer.result.update(described(execution))
    return answer


def _publish(self: Any) -> Any:
    """PublishStateMachineVersion: idempotent for the machine's current revision."""
    from moto.core.responses import ActionResult

    machine = _machine(self.stepfunction_backend, self._get_param("stateMachineArn"))
    latest = machine.latest_version
    current = (machine.definition, machine.roleArn)
    if latest is None or (latest.definition, latest.roleArn) != current:
        machine.publish(self._get_param("description"))
        latest = machine.latest_version
    return ActionResult(
        {"stateMachineVersionArn": latest.arn, "creationDate": latest.creation_date}
    )


def _list_versions(self: Any) -> Any:
    """ListStateMachineVersions, newest first."""
    from moto.core.responses import ActionResult

    machine = _machine(self.stepfunction_backend, self._get_param("stateMachineArn"))
    versions = sorted(machine.versions.values(), key=lambda v: -int(v.version))
    listed = [{"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions]
    return ActionResult({"stateMachineVersions": listed})
