"""Where the rehearsal meets moto: IAM enforcement per principal, the call log, and the Step
Functions and EventBridge behaviour moto leaves out.

moto's server runs in this process (``ThreadedMotoServer``), so its backends are patched here:

* every request passes :func:`_authorize`: a request signed with an assumed role's (or an IAM
  user's) keys is checked by moto's IAM evaluator against that principal's policies, with the
  request's resource ARN (moto itself checks most services against ``*``); requests with any
  other keys are the operator's (the account administrator running ``wdl2sfn deploy``/``run``).
  Each request becomes one line of ``aws-calls.jsonl``;
* ``StartExecution`` (API, EventBridge rule, Scheduler) runs the execution on the local executor;
  Describe/Stop/ListExecutions and GetExecutionHistory answer from it.

Only one rehearsal is active per process (:func:`install` / :func:`uninstall`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from . import versions
from .arns import request_resources
from .iam import conditioned, states_resource
from .quotas import Quotas, Throttled

log = logging.getLogger(__name__)
_ORIGINALS: dict[str, Any] = {}
_ACTIVE: Engine | None = None


class Engine(Protocol):
    """What the hooks call into (``engine.RehearsalEngine``)."""

    account: str
    region: str
    quotas: Quotas

    def record_call(self, principal: str, service: str, action: str, resource: str,
                    allowed: bool, request_bytes: int, throttled: bool = False) -> None: ...  # fmt: skip

    def check_request(self, principal: str, service: str, action: str,
                      params: dict[str, Any], size: int) -> None: ...  # fmt: skip

    def start_execution(self, machine: Any, name: str, execution_input: str) -> Any: ...

    def on_rule_event(self, rule: Any, event: dict[str, Any]) -> None: ...

    def answer_token(self, token: str, output: str | None, error: str | None) -> bool: ...

    def children(self) -> Any: ...

    def redrive(self, record: Any) -> None: ...

    def on_api_job(self, moto_id: str, request: dict[str, Any]) -> None: ...


def install(engine: Engine) -> None:
    """Patch moto for ``engine`` (idempotent; the last installed engine is the active one)."""
    global _ACTIVE
    from moto.batch_simple.models import BatchSimpleBackend
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.events.models import Rule
    from moto.stepfunctions.models import Execution, StateMachine, StepFunctionBackend

    _ACTIVE = engine
    if _ORIGINALS:
        return
    _install_children()
    versions.install()
    _ORIGINALS["auth"] = ActionAuthenticatorMixin._authenticate_and_authorize_action
    _ORIGINALS["start"] = StateMachine.start_execution
    _ORIGINALS["rule"] = Rule.send_to_targets
    _ORIGINALS["history"] = Execution.get_execution_history
    _ORIGINALS["stop"] = Execution.stop
    _ORIGINALS["success"] = StepFunctionBackend.send_task_success
    _ORIGINALS["failure"] = StepFunctionBackend.send_task_failure
    _ORIGINALS["submit_job"] = BatchSimpleBackend.submit_job
    BatchSimpleBackend.submit_job = _submit_job  # type: ignore[method-assign]
    StepFunctionBackend.send_task_success = _send_task_success  # type: ignore[method-assign]
    StepFunctionBackend.send_task_failure = _send_task_failure  # type: ignore[method-assign]
    Execution.get_execution_history = _history  # type: ignore[method-assign]
    Execution.stop = _stop  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize  # type: ignore[method-assign]
    StateMachine.start_execution = _start_execution  # type: ignore[method-assign]
    Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    global _ACTIVE
    from moto.batch_simple.models import BatchSimpleBackend
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.events.models import Rule
    from moto.stepfunctions.models import Execution, StateMachine, StepFunctionBackend

    _ACTIVE = None
    if not _ORIGINALS:
        return
    _uninstall_children()
    versions.uninstall()
    BatchSimpleBackend.submit_job = _ORIGINALS.pop("submit_job")  # type: ignore[method-assign]
    Execution.get_execution_history = _ORIGINALS.pop("history")  # type: ignore[method-assign]
    StepFunctionBackend.send_task_success = _ORIGINALS.pop("success")  # type: ignore[method-assign]
    StepFunctionBackend.send_task_failure = _ORIGINALS.pop("failure")  # type: ignore[method-assign]
    Execution.stop = _ORIGINALS.pop("stop")  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _ORIGINALS.pop("auth")  # type: ignore[method-assign]
    StateMachine.start_execution = _ORIGINALS.pop("start")  # type: ignore[method-assign]
    Rule.send_to_targets = _ORIGINALS.pop("rule")  # type: ignore[method-assign]


# ------------------------------------------------------------------------------ IAM and log


def principal_of(account: str, access_key_id: str) -> tuple[str, bool]:
    """(name, enforced): a role's or user's name when moto knows the key, else "operator"."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for assumed in sts_backends[account]["aws"].assumed_roles:
        if assumed.access_key_id == access_key_id:
            return assumed.role_arn.rsplit("/", 1)[-1], True
    for user in iam_backends[account]["aws"].list_users("/", None, None):
        if any(k.access_key_id == access_key_id for k in user.access_keys):
            return user.name, True
    return "operator", False


def _authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    """Replaces ActionAuthenticatorMixin._authenticate_and_authorize_action."""
    engine = _ACTIVE
    original = _ORIGINALS["auth"]
    if engine is None:
        return original(self, iam_request_cls, resource)  # type: ignore[no-any-return]
    header = self.headers.get("Authorization") or ""
    scope = header.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    service = scope[3] if len(scope) > 3 else getattr(self, "service_name", "")
    action = _operation_name(service, _action_name(self, service))
    params = _params(self)
    size = len(self.raw_body or b"") if isinstance(self.raw_body, bytes | bytearray) else 0
    principal, enforced = (
        principal_of(engine.account, scope[0]) if scope[0] else ("anonymous", False)
    )
    targets = (
        [resource]
        if resource != "*"
        else request_resources(
            f"{engine.region}:{engine.account}", service, action, params, self.raw_path
        )  # fmt: skip
    )
    allowed, throttled = True, False
    try:
        if enforced:  # the operator (provisioning, the administrator) is not throttled here
            engine.quotas.request(service, action)
        engine.check_request(principal, service, action, params, size)
        if enforced:
            # moto's Batch names actions by their lower-case URL path; IAM by the operation
            self._get_action = lambda: action
            try:
                for target in targets:
                    checked, conditions = states_resource(target)
                    cls = (
                        conditioned(iam_request_cls, conditions) if conditions else iam_request_cls
                    )
                    original(self, cls, checked)
            finally:
                del self._get_action
    except Throttled as exn:  # refused before IAM: recorded as throttled, not denied
        throttled = True
        raise _throttled(exn) from exn
    except Exception:
        allowed = False
        raise
    finally:
        engine.record_call(principal, service, action, ",".join(targets), allowed, size, throttled)


def _throttled(exn: Throttled) -> Exception:
    """The error response the service answers a throttled request with (quotas.py)."""
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(exn.code, exn.message)
    error.code = exn.status
    return error


def _action_name(response: Any, service: str) -> str:
    """The IAM action the request needs. For S3 that is not the operation (ListObjectsV2 needs
    ``s3:ListBucket``): moto's S3 writes the IAM action into ``data["Action"]`` from its
    ACTION_MAP, but moto 5.2.6 stopped reading it and authorizes by operation name, so a role
    allowed ``s3:ListBucket`` is denied ListObjectsV2 (docs/rehearsal.md, "moto 5.2.6")."""
    data = getattr(response, "data", None)
    if service == "s3" and isinstance(data, dict) and isinstance(data.get("Action"), str):
        return str(data["Action"])
    try:
        return str(response._get_action())
    except Exception:
        return str(getattr(response, "method", ""))


_OPERATIONS: dict[str, dict[str, str]] = {}


def _operation_name(service: str, action: str) -> str:
    """The API operation's own spelling (``describejobdefinitions`` -> ``DescribeJobDefinitions``),
    as IAM actions name it."""
    if service not in _OPERATIONS:
        try:
            import botocore.session

            model = botocore.session.get_session().get_service_model(
                _BOTO_NAMES.get(service, service)
            )
            _OPERATIONS[service] = {op.lower(): op for op in model.operation_names}
        except Exception:
            _OPERATIONS[service] = {}
    return _OPERATIONS[service].get(action.lower(), action)


_BOTO_NAMES = {"states": "stepfunctions", "elasticfilesystem": "efs", "execute-api": "apigateway"}


def _params(response: Any) -> dict[str, Any]:
    body = response.raw_body
    if isinstance(body, bytes | bytearray) and body[:1] == b"{":
        try:
            return dict(json.loads(body))
        except ValueError:
            return {}
    return {k: (v[0] if isinstance(v, list) and v else v) for k, v in response.querystring.items()}


# ------------------------------------------------------------------------------ Step Functions


def _start_execution(
    self: Any, region_name: str, account_id: str, execution_name: str, execution_input: str
) -> Any:
    """Replaces moto's StateMachine.start_execution: the local executor runs it."""
    engine = _ACTIVE
    if engine is None:
        return _ORIGINALS["start"](self, region_name, account_id, execution_name, execution_input)
    self._validate_execution_input(execution_input)
    existing = self._handle_name_input_idempotency(execution_name, execution_input)
    if existing is not None:
        return existing
    execution = engine.start_execution(self, execution_name, execution_input)
    self.executions.append(execution)
    return execution


def _send_to_targets(self: Any, event: dict[str, Any], transform_input: bool = True) -> None:
    """Replaces moto's Rule.send_to_targets: Step Functions targets start executions."""
    engine = _ACTIVE
    if engine is not None and self.event_pattern.matches_event(event):
        try:
            engine.on_rule_event(self, event)
        except Exception as exn:  # EventBridge delivers asynchronously: the caller never sees it
            log.warning("rule %s: target failed: %s", self.name, exn)
    _ORIGINALS["rule"](self, event, transform_input)


def _submit_job(self: Any, job_name: str, job_def_id: str, job_queue: str, *args: Any,
                **kwargs: Any) -> Any:  # fmt: skip
    """A job submitted through the Batch API runs, as on AWS (moto alone would only mark it
    SUCCEEDED); Step Functions' own submissions are run by the engine."""
    answer = _ORIGINALS["submit_job"](self, job_name, job_def_id, job_queue, *args, **kwargs)
    if _ACTIVE is not None:
        request = {"jobName": job_name, "jobDefinition": job_def_id, "jobQueue": job_queue}
        for key, arg in (("containerOverrides", "container_overrides"), ("timeout", "timeout")):
            if kwargs.get(arg):
                request[key] = kwargs[arg]
        _ACTIVE.on_api_job(str(answer[1]), request)  # (name, job id, job ARN)
    return answer


def _history(self: Any, roleArn: str) -> list[dict[str, Any]]:
    """GetExecutionHistory of a rehearsed execution: the executor's own events (after a
    redrive: the earlier events, ExecutionRedriven, then the new run's, renumbered)."""
    run = getattr(self, "_rehearsal", None)
    if run is None:
        return _ORIGINALS["history"](self, roleArn)  # type: ignore[no-any-return]
    from ...statemachine.history import read_events

    path = run.history_path  # the file is the history (events are not kept in memory)
    events = read_events(path) if path is not None else []
    previous = getattr(self, "_previous", None)
    if previous:
        events = list(previous) + [_renumbered(e, len(previous)) for e in events[1:]]
    return [_moto_event(e) for e in events]


def _renumbered(event: dict[str, Any], offset: int) -> dict[str, Any]:
    """A redriven run's event after the earlier ones (its ExecutionStarted, id 1, left out)."""
    out = dict(event, id=int(event["id"]) - 1 + offset)
    before = int(event.get("previousEventId") or 0)
    out["previousEventId"] = before - 1 + offset if before > 1 else offset
    return out


def _redrive_execution(self: Any) -> Any:
    """RedriveExecution (moto has none): the engine re-runs the execution (engine.redrive)."""
    from moto.core.responses import ActionResult

    arn = self._get_param("executionArn")
    execution = self.stepfunction_backend.describe_execution(arn)
    if _ACTIVE is None:
        from moto.core.exceptions import JsonRESTError

        raise JsonRESTError("ExecutionNotRedrivable", "no rehearsal is active")
    _ACTIVE.redrive(execution)
    return ActionResult({"redriveDate": now()})


def _moto_event(event: dict[str, Any]) -> dict[str, Any]:
    out = dict(event)
    stamp = out.get("timestamp")
    if isinstance(stamp, str):
        out["timestamp"] = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return out


def _stop(self: Any, stop_date: Any, error: Any = None, cause: Any = None, **_: Any) -> None:
    """StopExecution of a rehearsed execution stops the local run (its Batch jobs are killed)."""
    run = getattr(self, "_rehearsal", None)
    _ORIGINALS["stop"](self, stop_date=stop_date, error=error, cause=cause)
    if run is not None:
        run.stop(error or "", cause or "")


def _send_task_success(self: Any, task_token: str, outcome: str) -> None:
    """SendTaskSuccess (a run-time step releasing an exact join) answers the local executor."""
    _answer(task_token, outcome or "{}", None)


def _send_task_failure(self: Any, task_token: str, error: str | None = None) -> None:
    _answer(task_token, None, error or "")


def _answer(token: str, output: str | None, error: str | None) -> None:
    from moto.stepfunctions.exceptions import InvalidToken

    engine = _ACTIVE
    if engine is None or not engine.answer_token(token, output, error):
        raise InvalidToken(f"Invalid token: {token[:16]}...")


def now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------ child executions
#
# Distributed Map children and child machines' executions run inside the local executor, not as
# moto records: these answer for them from the engine's history folders (children.ChildIndex).

_CHILD_METHODS = ("describe_execution", "get_execution_history", "list_map_runs",
                  "describe_map_run")  # fmt: skip


def _install_children() -> None:
    from moto.stepfunctions.models import StepFunctionBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    for name in _CHILD_METHODS:
        _ORIGINALS[f"backend.{name}"] = getattr(StepFunctionBackend, name)
        setattr(StepFunctionBackend, name, globals()[f"_{name}"])
    _ORIGINALS["response.list_executions"] = StepFunctionResponse.list_executions
    StepFunctionResponse.list_executions = _list_executions  # type: ignore[method-assign]
    StepFunctionResponse.redrive_execution = _redrive_execution  # type: ignore[attr-defined]


def _uninstall_children() -> None:
    from moto.stepfunctions.models import StepFunctionBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    for name in _CHILD_METHODS:
        setattr(StepFunctionBackend, name, _ORIGINALS.pop(f"backend.{name}"))
    StepFunctionResponse.list_executions = _ORIGINALS.pop("response.list_executions")  # type: ignore[method-assign]
    del StepFunctionResponse.redrive_execution  # type: ignore[attr-defined]


def _child(arn: str) -> Any:
    """The child execution ``arn`` names, or ExecutionDoesNotExist as AWS answers."""
    from moto.stepfunctions.exceptions import ExecutionDoesNotExist

    child = _ACTIVE.children().children.get(arn) if _ACTIVE is not None else None
    if child is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    return child


def _describe_execution(self: Any, execution_arn: str) -> Any:
    """A child execution's description, in the shape moto's response reads."""
    from types import SimpleNamespace

    from moto.stepfunctions.exceptions import ExecutionDoesNotExist

    try:
        return _ORIGINALS["backend.describe_execution"](self, execution_arn)
    except ExecutionDoesNotExist:
        found = _child(execution_arn).describe()
    return SimpleNamespace(
        execution_arn=execution_arn, name=found["name"], execution_input=found["input"],
        start_date=found["startDate"], stop_date=found.get("stopDate"),
        state_machine_arn=found["stateMachineArn"], status=found["status"],
        output=found.get("output"), output_details={"included": True},
        error=found.get("error"), cause=found.get("cause"),
    )  # fmt: skip


def _get_execution_history(self: Any, execution_arn: str) -> dict[str, Any]:
    from moto.stepfunctions.exceptions import ExecutionDoesNotExist

    try:
        return _ORIGINALS["backend.get_execution_history"](self, execution_arn)  # type: ignore[no-any-return]
    except ExecutionDoesNotExist:
        return {"events": [_moto_event(e) for e in _child(execution_arn).events()]}


def _list_map_runs(self: Any, execution_arn: str) -> dict[str, Any]:
    """ListMapRuns: every Map Run the execution (or a child) started, oldest first."""
    if _ACTIVE is None:
        return {"mapRuns": []}
    runs = _ACTIVE.children().by_execution.get(execution_arn, [])
    out = []
    for run in runs:
        described = run.describe()
        entry = {"executionArn": execution_arn, "mapRunArn": run.arn,
                 "stateMachineArn": run.children[0].machine_arn if run.children else "",
                 "startDate": described["startDate"]}  # fmt: skip
        if described.get("stopDate"):
            entry["stopDate"] = described["stopDate"]
        out.append(entry)
    return {"mapRuns": out}


def _describe_map_run(self: Any, map_run_arn: str) -> dict[str, Any]:
    from moto.stepfunctions.exceptions import ResourceNotFound

    run = _ACTIVE.children().map_runs.get(map_run_arn) if _ACTIVE is not None else None
    if run is None:
        raise ResourceNotFound(map_run_arn)
    return dict(run.describe())


def _list_executions(self: Any) -> Any:
    """ListExecutions with ``mapRunArn``: the Map Run's child executions."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.exceptions import ResourceNotFound

    map_run_arn = self._get_param("mapRunArn")
    if not map_run_arn or _ACTIVE is None:
        return _ORIGINALS["response.list_executions"](self)
    run = _ACTIVE.children().map_runs.get(map_run_arn)
    if run is None:
        raise ResourceNotFound(map_run_arn)
    wanted = self._get_param("statusFilter")
    executions = []
    for child in run.children:
        found = child.describe()
        if wanted and found["status"] != wanted:
            continue
        entry = {k: found[k] for k in ("executionArn", "name", "startDate", "stateMachineArn",
                                       "status", "mapRunArn")}  # fmt: skip
        if found.get("stopDate"):
            entry["stopDate"] = found["stopDate"]
        executions.append(entry)
    return ActionResult({"executions": executions})
