"""Task states: resource dispatch, handler calls with timeouts and aborts, and the built-in
``states:startExecution`` integration (fire-and-forget, ``.sync``, ``.sync:2``).

Events follow AWS: ``TaskScheduled`` (parameters as a JSON string), ``TaskStarted``,
``TaskSubmitted`` for ``.sync`` integrations, then ``TaskSucceeded``/``TaskFailed``/
``TaskTimedOut``. A bare Lambda function ARN as Resource is the legacy form: it goes to the
``arn:aws:states:::lambda:invoke`` handler with ``{"FunctionName", "Payload"}``, its result's
``Payload`` is unwrapped, and its events are the ``LambdaFunction*`` ones.

A handler reports a failure by raising TaskFailure(error, cause). Any other exception is
reported as the Lambda Python runtime reports an unhandled one: error = the exception's class
name, cause = ``{"errorMessage", "errorType", "stackTrace"}`` as JSON.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from . import callbacks
from .errors import (
    RUNTIME,
    TASK_FAILED,
    ExecutionAbortedError,
    StatesError,
    TaskFailure,
)
from .execution import Execution, Scope
from .handler_calls import call_handler
from .interpreter import (
    context_fn,
    effective_input,
    emit_quietly,
    enter,
    process_result,
    resolve_number,
    with_retry_and_catch,
)
from .model import State
from .paths import ContextFn
from .quotas import check_payload, to_json
from .runtime import AbortToken, ResourceHandler, TaskCall
from .tokens import new_token

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
START_EXECUTION = "arn:aws:states:::states:startExecution"
STATES_PREFIX = "arn:aws:states:::"
# the managed rule through which a .sync integration learns that a child execution ended
SFN_SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
#: what a ``.sync`` integration's role must allow on its managed rule. Step Functions developer
#: guide, "IAM policies for integrated services" (AWS Batch; Step Functions): the policy for
#: ``submitJob.sync`` allows "events:PutTargets", "events:PutRule", "events:DescribeRule" on
#: ``arn:aws:events:[[region]]:[[accountId]]:rule/StepFunctionsGetEventsForBatchJobsRule``, and
#: ``startExecution.sync`` the same on ``rule/StepFunctionsGetEventsForStepFunctionsExecutionRule``
SYNC_RULE_ACTIONS = ("events:PutTargets", "events:PutRule", "events:DescribeRule")


def run_task(state: State, data: Any, scope: Scope) -> tuple[str | None, Any]:
    """Task: effective input -> resource -> result processing, under Retry/Catch."""
    if scope.run.executor.redrive is not None:
        preserved = _preserved(state, data, scope)
        if preserved is not None:
            return preserved
    if scope.replay is not None:
        scope.replay.go_live()  # this Task runs again: its events, and what follows, are new
    enter(state, data, scope)

    def attempt(retry_count: int) -> tuple[Any, str]:
        ctx = context_fn(scope, state, retry_count)
        token = None
        if callbacks.is_callback(state.resource):  # $$.Task.Token for .waitForTaskToken
            token = scope.run.executor.task_tokens.issue()
            ctx = callbacks.with_token(ctx, token)
        params = effective_input(state, data, ctx)
        result = invoke(state, data, params, ctx, scope, retry_count, token)
        return process_result(state, data, result, ctx, scope)

    return with_retry_and_catch(state, data, scope, attempt)


def _preserved(state: State, data: Any, scope: Scope) -> tuple[str | None, Any] | None:
    """A redriven attempt (``redrive``): the Task an earlier attempt finished is not run again,
    and, as on AWS, leaves no new events (its history is the earlier attempt's); None: run it."""
    ledger = scope.run.executor.redrive
    assert ledger is not None
    ctx = context_fn(scope, state, 0)
    if callbacks.is_callback(state.resource):  # (the key leaves the token out)
        ctx = callbacks.with_token(ctx, new_token())
    try:
        params = effective_input(state, data, ctx)
    except StatesError:
        return None  # the attempt will fail as it should, with its events
    done, result = ledger.take(state.name, state.resource, to_json(params))
    if not done:
        return None
    output, _text = process_result(state, data, result, ctx, scope)
    return state.next, output


def is_lambda_arn(resource: str) -> bool:
    """Whether Resource is a bare Lambda function ARN (the legacy Lambda task form)."""
    return resource.startswith("arn:aws:lambda:") and ":function:" in resource


def split_resource(resource: str) -> tuple[str, str]:
    """(resourceType, resource) as history events show them: ``batch``, ``submitJob.sync``;
    ``states``, ``startExecution.sync:2`` (the service is what precedes the first colon); an
    AWS SDK integration's service is ``aws-sdk:<service>``: ``aws-sdk:batch``,
    ``submitJob.waitForTaskToken``."""
    if resource.startswith(STATES_PREFIX):
        service, _, action = resource[len(STATES_PREFIX) :].partition(":")
        if service == "aws-sdk":
            sdk, _, action = action.partition(":")
            service = f"{service}:{sdk}"
        return service, action
    return "", resource


class _Invocation:
    """One attempt of a Task: its events, its abort token and its handler call."""

    def __init__(self, state: State, params: Any, scope: Scope, retry_count: int) -> None:
        self.state = state
        self.params = params
        self.scope = scope
        self.executor = scope.run.executor
        self.resource = state.resource
        self.resource_type, self.resource_name = split_resource(state.resource)
        self.sync = ".sync" in state.resource
        self.submitted = False
        self.token = AbortToken(scope.token)
        self.retry_count = retry_count

    def details(self, **extra: Any) -> dict[str, Any]:
        return {"resourceType": self.resource_type, "resource": self.resource_name, **extra}

    def submit(self, output: Any = None) -> None:
        """Emit TaskSubmitted once (``.sync`` integrations), with the submission response."""
        if self.sync and not self.submitted:
            self.submitted = True
            self.scope.emit(
                "TaskSubmitted",
                self.details(
                    output=to_json(output if output is not None else {}),
                    outputDetails={"truncated": False},
                ),
            )

    def task_call(
        self,
        resource: str,
        timeout: float | None,
        heartbeat: float | None = None,
        submitted: Any = None,
    ) -> TaskCall:
        """What the handler of this attempt receives (``submitted``: the TaskSubmitted hook of a
        ``.sync`` integration; a callback's base call has none)."""
        extra = {"submitted": submitted} if submitted is not None else {}
        return TaskCall(
            resource=resource,
            parameters=self.params,
            execution_name=self.scope.run.name,
            state_name=self.state.name,
            abort=self.token.event,
            timeout_seconds=timeout,
            heartbeat_seconds=heartbeat,
            retry_count=self.retry_count,
            state_machine_arn=self.scope.run.state_machine_arn,
            **extra,
        )

    def call(
        self,
        handler: ResourceHandler,
        resource: str,
        timeout: float | None,
        heartbeat: float | None,
    ) -> Any:
        task_call = self.task_call(resource, timeout, heartbeat, submitted=self.submit)
        try:
            return call_handler(
                handler, task_call, self.token, self.scope.token, timeout, heartbeat
            )
        finally:
            self.token.release()


def invoke(
    state: State,
    data: Any,
    params: Any,
    ctx: ContextFn,
    scope: Scope,
    retry_count: int,
    token: str | None = None,
) -> Any:
    """Run one attempt of a Task's resource and return its raw result."""
    quotas = scope.run.executor.quotas
    params_text = to_json(params)
    check_payload(params_text, quotas, state.name)
    timeout = resolve_number(state.timeout, data, ctx, "TimeoutSeconds")
    heartbeat = resolve_number(state.heartbeat, data, ctx, "HeartbeatSeconds")
    inv = _Invocation(state, params, scope, retry_count)
    if is_lambda_arn(state.resource):
        return _invoke_legacy_lambda(inv, params_text, timeout, heartbeat)
    handler = None if token is not None else _find_handler(inv)
    scheduled = inv.details(region=scope.run.executor.region, parameters=params_text)
    if timeout is not None:
        scheduled["timeoutInSeconds"] = int(timeout)
    if heartbeat is not None:
        scheduled["heartbeatInSeconds"] = int(heartbeat)
    scope.emit("TaskScheduled", scheduled)
    scope.emit("TaskStarted", inv.details())
    try:
        if token is not None:
            result = callbacks.invoke_callback(inv, scope, timeout, token)
        else:
            assert handler is not None
            result = inv.call(handler, state.resource, timeout, heartbeat)
        text = to_json(result)
        check_payload(text, quotas, state.name)
    except StatesError as err:
        inv.submit()
        kind = "TaskTimedOut" if getattr(err, "timed_out", False) else "TaskFailed"
        scope.emit(kind, inv.details(error=err.error, cause=err.cause or ""))
        raise
    except ExecutionAbortedError:
        emit_quietly(scope, "TaskStateAborted")
        raise
    inv.submit()
    scope.emit("TaskSucceeded", inv.details(output=text, outputDetails={"truncated": False}))
    return result


def _find_handler(inv: _Invocation) -> ResourceHandler:
    """The handler for a Resource: an injected one, or a built-in integration."""
    handler = inv.executor.handlers.get(inv.resource)
    if handler is not None:
        return handler
    if inv.resource.startswith(START_EXECUTION):
        mode = inv.resource[len(START_EXECUTION) :].lstrip(".")
        return lambda call: start_execution(call, inv, mode)
    raise StatesError(RUNTIME, f"No handler is bound to the resource '{inv.resource}'")


def _invoke_legacy_lambda(
    inv: _Invocation, payload_text: str, timeout: float | None, heartbeat: float | None
) -> Any:
    """A bare function ARN: the lambda:invoke handler, Payload unwrapped, LambdaFunction* events."""
    scope = inv.scope
    handler = inv.executor.handlers.get(LAMBDA_INVOKE)
    if handler is None:
        raise StatesError(RUNTIME, f"No handler is bound to '{LAMBDA_INVOKE}' for '{inv.resource}'")
    scheduled: dict[str, Any] = {
        "resource": inv.resource,
        "input": payload_text,
        "inputDetails": {"truncated": False},
    }
    if timeout is not None:
        scheduled["timeoutInSeconds"] = int(timeout)
    scope.emit("LambdaFunctionScheduled", scheduled)
    scope.emit("LambdaFunctionStarted")
    inv.params = {"FunctionName": inv.resource, "Payload": inv.params}
    try:
        result = inv.call(handler, LAMBDA_INVOKE, timeout, heartbeat)
        if isinstance(result, dict) and "Payload" in result:
            result = result["Payload"]
        text = to_json(result)
        check_payload(text, inv.executor.quotas, inv.state.name)
    except StatesError as err:
        kind = (
            "LambdaFunctionTimedOut" if getattr(err, "timed_out", False) else "LambdaFunctionFailed"
        )
        scope.emit(kind, {"error": err.error, "cause": err.cause or ""})
        raise
    except ExecutionAbortedError:
        emit_quietly(scope, "TaskStateAborted")
        raise
    scope.emit("LambdaFunctionSucceeded", {"output": text, "outputDetails": {"truncated": False}})
    return result


# ---------------------------------------------------------------- states:startExecution


def _millis(seconds: float) -> int:
    return int(seconds * 1000)


def unqualified(arn: str) -> str:
    """A state machine ARN without its version or alias (``...:stateMachine:name:3``)."""
    head, sep, name = arn.partition(":stateMachine:")
    return head + sep + name.split(":", 1)[0] if sep else arn


def start_execution(call: TaskCall, inv: _Invocation, mode: str) -> Any:
    """Start a child execution of a state machine bound in ``state_machines``.

    ``mode`` is "" (fire-and-forget: ``{"ExecutionArn", "StartDate"}``), "sync" (DescribeExecution
    with Input/Output as JSON text) or "sync:2" (the same with Input/Output as JSON)."""
    params = call.parameters if isinstance(call.parameters, dict) else {}
    arn = params.get("StateMachineArn")
    executor = inv.executor
    machine = executor.child_machine(arn) if isinstance(arn, str) else None
    if machine is None or not isinstance(arn, str):
        raise TaskFailure(
            "StepFunctions.StateMachineDoesNotExistException",
            f"State Machine Does Not Exist: '{arn}'",
        )
    machine_arn = unqualified(arn)
    if executor.authorizer is not None:  # AWS authorizes a version or alias by its machine
        executor.authorizer(inv.scope.run.state_machine_arn, "states:StartExecution", machine_arn)
    child_input = params.get("Input", {})
    if isinstance(child_input, str):
        try:
            child_input = json.loads(child_input)
        except ValueError as exc:
            raise TaskFailure("StepFunctions.InvalidExecutionInputException", str(exc)) from None
    name = params.get("Name") or str(uuid.uuid4())
    parent = inv.scope.run
    history_dir = parent.history_dir / "executions" / name if parent.history_dir else None
    child = Execution(
        executor,
        machine,
        child_input,
        name,
        history_dir,
        machine_arn,
        parent_token=inv.token if mode else None,
    )
    if mode and executor.authorizer is not None:  # .sync follows the child execution
        executor.authorizer(inv.scope.run.state_machine_arn, "states:DescribeExecution", child.arn)
        rule = f"arn:aws:events:{executor.region}:{executor.account}:rule/{SFN_SYNC_RULE}"
        for action in SYNC_RULE_ACTIONS:
            executor.authorizer(inv.scope.run.state_machine_arn, action, rule)
    started = {"ExecutionArn": child.arn, "StartDate": _millis(child.start_time)}
    if not mode:
        child.start()
        return started
    inv.submit(started)
    result = child.run_inline()
    if inv.token.is_set():
        raise ExecutionAbortedError("aborted")
    describe = describe_execution(child, result, parsed=(mode == "sync:2"))
    if arn != machine_arn:
        describe["StateMachineVersionArn"] = arn
    if result.status == "SUCCEEDED":
        return describe
    raise TaskFailure(TASK_FAILED, to_json(describe))


def describe_execution(child: Any, result: Any, parsed: bool) -> dict[str, Any]:
    """The DescribeExecution shape a ``.sync``/``.sync:2`` task returns."""

    def render(value: Any) -> Any:
        return value if parsed else to_json(value)

    out: dict[str, Any] = {
        "ExecutionArn": child.arn,
        "Input": render(child.input),
        "InputDetails": {"Included": True},
        "Name": child.name,
        "StartDate": _millis(child.start_time),
        "StateMachineArn": child.state_machine_arn,
        "Status": result.status,
        "StopDate": _millis(child.stop_time or child.start_time),
    }
    if result.status == "SUCCEEDED":
        out["Output"] = render(result.output)
        out["OutputDetails"] = {"Included": True}
    else:
        if result.error is not None:
            out["Error"] = result.error
        if result.cause is not None:
            out["Cause"] = result.cause
    return out
