"""Step Functions inside the rehearsal: executions started in moto run on the local executor,
every service integration done as the state machine's role.

* ``lambda:invoke``: ``lambda:InvokeFunction`` checked against the role, then the function runs
  in its own sandbox (:mod:`.lambdas`);
* ``batch:submitJob.sync``, and ``aws-sdk:batch:submitJob`` (FSx exact joins' wait jobs, with
  ``.waitForTaskToken``): :mod:`.jobs`;
* ``states:startExecution[.sync:2]`` and Distributed Map child executions: ``states:StartExecution``
  checked against the role (the executor's authorizer);
* ItemReader/ResultWriter and ``aws-sdk:s3:getObject``: S3 calls to moto signed with the role's
  keys, so moto's own IAM enforcement decides.

A denied integration fails its state with the error AWS returns (``<Service>.AccessDeniedException``
and AWS's message). Every call is one line of ``aws-calls.jsonl`` (:class:`CallLog`).
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...contract.settings import load_settings
from ...statemachine.executor import Executor
from ...statemachine.tasks import SYNC_RULE_ACTIONS
from ..local.batch import task_failure
from ..local.resources import (
    BATCH_SUBMIT_JOB_SDK,
    BATCH_SUBMIT_JOB_SYNC,
    LAMBDA_INVOKE,
    S3_GET_OBJECT_SDK,
    S3_PUT_OBJECT_SDK,
)
from .iam import Principals, access_denied, passed_to
from .jobs import BatchService
from .lambdas import FunctionConfig, FunctionError, LambdaService, LambdaTimeout
from .mounts import missing_mount_permissions
from .quotas import Quotas, Throttled
from .redrives import not_redrivable, refusal

BATCH_SYNC_RULE = "StepFunctionsGetEventsForBatchJobsRule"
SUBMIT_JOB_LIMIT = 30 * 1024  # AWS Batch SubmitJob request payload quota
SERVICE_NAMES = {"lambda": "Lambda", "states": "StepFunctions", "batch": "Batch", "s3": "S3"}


class CallLog:
    """``aws-calls.jsonl``: one line per AWS call, by whichever principal made it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", buffering=1)  # noqa: SIM115 - closed by close()
        self._lock = threading.Lock()

    def record(self, principal: str, service: str, action: str, resource: str, allowed: bool,
               request_bytes: int, throttled: bool = False) -> None:  # fmt: skip
        line = json.dumps({
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "principal": principal, "service": service, "action": action,
            "resource": resource, "allowed": allowed, "request_bytes": request_bytes,
            **({"throttled": True} if throttled else {}),
        })  # fmt: skip
        with self._lock:
            if not self._file.closed:
                self._file.write(line + "\n")

    def close(self) -> None:
        with self._lock:
            self._file.close()


class RehearsalEngine:
    """The active rehearsal's Step Functions service (installed into moto by :mod:`.hooks`)."""

    def __init__(self, *, account: str, region: str, endpoint: str, session: Any,
                 principals: Principals, calls: CallLog, lambdas: LambdaService,
                 batch: BatchService, folder: Path,
                 functions: dict[str, dict[str, Any]]) -> None:  # fmt: skip
        self.account = account
        self.region = region
        self.endpoint = endpoint
        self.session = session
        self.principals = principals
        self.calls = calls
        self.lambdas = lambdas
        self.batch = batch
        self.folder = folder
        self.functions_declared = functions  # function name -> resolved template properties
        self.runs: dict[str, Any] = {}  # execution ARN -> local Execution
        self.earlier: dict[str, list[Any]] = {}  # execution ARN -> runs before its redrives
        self.executors: list[Executor] = []
        self.faults: dict[str, int] = json.loads(load_settings().rehearsal_faults)
        self.quotas = Quotas.from_setting(load_settings().rehearsal_quotas)
        self._functions: dict[str, FunctionConfig] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ hooks.Engine
    def record_call(self, principal: str, service: str, action: str, resource: str,
                    allowed: bool, request_bytes: int, throttled: bool = False) -> None:  # fmt: skip
        self.calls.record(principal, service, action, resource, allowed, request_bytes, throttled)

    def check_request(self, principal: str, service: str, action: str, params: dict[str, Any],
                      size: int) -> None:  # fmt: skip
        """What AWS checks of a request that moto does not: quotas, PassRole, Batch's EFS rule."""
        from moto.batch.exceptions import ClientException

        if service != "batch":
            return
        self._inject_fault(principal, action)
        if action.lower() == "submitjob" and size > SUBMIT_JOB_LIMIT:
            raise ClientException(
                f"Request payload of {size} bytes exceeds the SubmitJob limit of "
                f"{SUBMIT_JOB_LIMIT} bytes (30 KiB)"
            )
        if action.lower() == "registerjobdefinition":
            self._check_job_definition(principal, params)

    def _inject_fault(self, principal: str, action: str) -> None:
        """WDL2SFN_REHEARSAL_FAULTS='{"SubmitJob": N}': the first N such calls by a role fail
        with Batch's ServerException (HTTP 500), as the service sometimes answers."""
        from moto.core.exceptions import JsonRESTError

        if principal == "operator":
            return
        with self._lock:
            left = self.faults.get(action, 0)
            if left <= 0:
                return
            self.faults[action] = left - 1
        error = JsonRESTError("ServerException", "Injected: the service is unavailable")
        error.code = 500
        raise error

    def _check_job_definition(self, principal: str, params: dict[str, Any]) -> None:
        from moto.batch.exceptions import ClientException
        from moto.core.exceptions import AccessDeniedError

        props = params.get("containerProperties") or {}
        for volume in props.get("volumes") or []:
            efs = volume.get("efsVolumeConfiguration") or {}
            if (efs.get("authorizationConfig") or {}).get("iam") == "ENABLED" and (
                efs.get("transitEncryption") != "ENABLED" or not props.get("jobRoleArn")
            ):
                raise ClientException(
                    "EFS IAM authorization requires that TransitEncryption be ENABLED and that "
                    "a JobRoleArn is specified"
                )
        role = props.get("jobRoleArn")
        if (
            role
            and principal != "operator"
            and not self.principals.allowed(principal, "iam:PassRole", role, passed_to("batch"))
        ):
            self.record_call(principal, "iam", "PassRole", role, False, 0)
            raise AccessDeniedError(f"arn:aws:sts::{self.account}:assumed-role/{principal}",
                                    "iam:PassRole")  # fmt: skip

    def start_execution(self, machine: Any, name: str, execution_input: str) -> Any:
        """A moto Execution record whose run is ours; its fields follow the run to its end."""
        from moto.stepfunctions.models import Execution

        record = Execution(self.region, self.account, machine.name, name, machine.arn,
                           execution_input)  # fmt: skip
        record.status = "RUNNING"
        executor = self._executor(machine, name)
        with self._lock:
            self.executors.append(executor)
        run = executor.start(json.loads(execution_input or "{}"), name)
        record._rehearsal = run  # type: ignore[attr-defined]
        with self._lock:
            self.runs[record.execution_arn] = run
        threading.Thread(target=self._follow, args=(record, run), daemon=True).start()
        return record

    @staticmethod
    def _follow(record: Any, run: Any) -> None:
        result = run.wait()
        record.output = json.dumps(result.output) if result.status == "SUCCEEDED" else None
        record.error, record.cause = result.error, result.cause
        record.stop_date = datetime.now(UTC)
        record.status = result.status

    def on_api_job(self, moto_id: str, request: dict[str, Any]) -> None:
        """A job the Batch API accepted from a caller other than a state machine."""
        self.batch.run_api_job(moto_id, request)

    def redrive(self, record: Any) -> None:
        """RedriveExecution as AWS documents it (:mod:`.redrives`, ``statemachine.redrive``):
        refused outside FAILED/ABORTED/TIMED_OUT or 14 days after the stop; else a new attempt
        of the same execution (same name, input and definition) that takes every Task result
        the earlier attempts finished from their histories instead of running it again, so only
        the unsuccessful steps, branches, iterations and Map Run children run. Its history is the
        earlier events, an ExecutionRedriven event, then the new attempt's (its own
        ExecutionStarted left out)."""
        from ...statemachine.history import read_events
        from ...statemachine.redrive import RedriveLedger

        why = refusal(str(record.status), record.stop_date, datetime.now(UTC))
        if why is not None:
            raise not_redrivable(record.execution_arn, why)
        with self._lock:
            earlier = self.runs[record.execution_arn]
        count = len(getattr(record, "_redrives", [])) + 1
        history = list(getattr(record, "_previous", None) or read_events(earlier.history_path))
        history.append({"timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                        "type": "ExecutionRedriven", "id": len(history) + 1,
                        "previousEventId": len(history),
                        "executionRedrivenEventDetails": {"redriveCount": count}})  # fmt: skip
        machine = _machine(self, record.state_machine_arn)
        folder = self.folder / "executions" / machine.name / record.name
        ledger = RedriveLedger.read(folder)
        executor = self._executor(machine, record.name, f"redrive-{count}", ledger, count)
        with self._lock:
            self.executors.append(executor)
        run = executor.start(json.loads(record.execution_input or "{}"), record.name)
        record._previous, record._redrives = history, [*getattr(record, "_redrives", []), earlier]
        record._redrive_date = datetime.now(UTC)
        with self._lock:
            self.earlier.setdefault(record.execution_arn, []).append(earlier)
        record.status, record.stop_date, record.error, record.cause = "RUNNING", None, None, None
        record._rehearsal = run
        with self._lock:
            self.runs[record.execution_arn] = run
        threading.Thread(target=self._follow, args=(record, run), daemon=True).start()

    def attempts(self) -> list[tuple[str, Path]]:
        """(execution ARN, history folder) of every run, earlier runs of redriven ones too."""
        with self._lock:
            runs = [(arn, [*self.earlier.get(arn, []), run]) for arn, run in self.runs.items()]
        return [(arn, r.history_dir) for arn, rs in runs for r in rs if r.history_dir is not None]

    def _executor(self, machine: Any, name: str, attempt: str = "", ledger: Any = None,
                  redrive_count: int = 0) -> Executor:  # fmt: skip
        from moto.stepfunctions.models import stepfunctions_backends

        machines = stepfunctions_backends[self.account][self.region].state_machines
        history = self.folder / "executions" / machine.name / name
        if attempt:
            history = history / attempt
        return Executor(
            machine.definition,
            self.handlers(),
            history_dir=history,
            object_store=S3ObjectStore(self, machine.roleArn),
            state_machines=_definitions(machines),
            state_machine_arn=machine.arn,
            region=self.region,
            account=self.account,
            authorizer=self.authorize,
            role_arn=machine.roleArn,
            redrive=ledger,
            redrive_count=redrive_count,
            transition_gate=self.quotas.transition_gate(self.record_call, machine),
        )

    def answer_token(self, token: str, output: str | None, error: str | None) -> bool:
        """SendTaskSuccess/Failure: the executor that issued the token takes the answer."""
        from ...statemachine.callbacks import InvalidToken

        with self._lock:
            executors = list(self.executors)
        for executor in executors:
            try:
                if error is None:
                    executor.task_tokens.send_success(token, output or "{}")
                else:
                    executor.task_tokens.send_failure(token, error, "")
                return True
            except InvalidToken:
                continue
        return False

    def children(self) -> Any:
        """Map Runs and child executions of every execution so far (``children.ChildIndex``),
        read from their history folders: ListMapRuns, DescribeMapRun, ListExecutions with a
        ``mapRunArn``, and children's DescribeExecution / GetExecutionHistory answer from it."""
        from .children import ChildIndex

        return ChildIndex.scan(self.attempts())

    def on_rule_event(self, rule: Any, event: dict[str, Any]) -> None:
        """An EventBridge rule matched: start each Step Functions target with the event."""
        for target in rule.targets:
            if ":states:" in target["Arn"] and ":stateMachine:" in target["Arn"]:
                self.start_from_service(target["Arn"], target.get("RoleArn"),
                                        target.get("Input") or json.dumps(event), "events")  # fmt: skip

    def start_from_service(self, machine_arn: str, role_arn: str | None, text: str,
                           service: str) -> str:  # fmt: skip
        """StartExecution as EventBridge or Scheduler does it, with the target's role."""
        role = (role_arn or "").rsplit("/", 1)[-1]
        allowed = bool(role) and self.principals.allowed(role, "states:StartExecution", machine_arn)
        self.record_call(role or service, "states", "StartExecution", machine_arn, allowed,
                         len(text.encode()))  # fmt: skip
        if not allowed:
            raise PermissionError(access_denied(role_arn or service, "states:StartExecution",
                                                machine_arn))  # fmt: skip
        sfn = self.session.client("stepfunctions", endpoint_url=self.endpoint)
        started = sfn.start_execution(stateMachineArn=machine_arn, name=str(uuid.uuid4()),
                                      input=text)  # fmt: skip
        return str(started["executionArn"])

    # ------------------------------------------------------------------ integrations
    def handlers(self) -> dict[str, Any]:
        return {
            LAMBDA_INVOKE: self._invoke_lambda,
            BATCH_SUBMIT_JOB_SYNC: self._submit_job,
            BATCH_SUBMIT_JOB_SDK: self._submit_job_sdk,
            S3_GET_OBJECT_SDK: self._s3_get_object,
            S3_PUT_OBJECT_SDK: self._s3_put_object,
        }

    def role_of(self, machine_arn: str) -> str:
        """The role a machine runs as (a Map Run child: its parent machine's)."""
        from moto.stepfunctions.models import stepfunctions_backends

        base = machine_arn.split("/", 1)[0]
        machine = stepfunctions_backends[self.account][self.region].describe_state_machine(base)
        return str(machine.roleArn)

    def authorize(self, machine_arn: str, action: str, resource: str) -> None:
        role_arn = self.role_of(machine_arn)
        role = role_arn.rsplit("/", 1)[-1]
        allowed = self.principals.allowed(role, action, resource)
        service, _, name = action.partition(":")
        self.record_call(role, service, name, resource, allowed, 0)
        if not allowed:
            prefix = SERVICE_NAMES.get(service, service)
            message = access_denied(f"arn:aws:sts::{self.account}:assumed-role/{role}/states",
                                    action, resource)  # fmt: skip
            raise task_failure(
                f"{prefix}.AccessDeniedException",
                f"{message} (Service: {prefix}; Status Code: 400; "
                "Error Code: AccessDeniedException)",
            )

    def _invoke_lambda(self, call: Any) -> Any:
        from ..local.resources import invoke_output, lambda_function_error, lambda_timeout_error

        params = call.parameters if isinstance(call.parameters, dict) else {}
        function = self.function(str(params.get("FunctionName", "")))
        request_id = str(uuid.uuid4())
        self._acquire(call, function)  # throttled: one line, "throttled", no IAM verdict
        try:
            self.authorize(call.state_machine_arn, "lambda:InvokeFunction", function.arn)
            self._check_mounts(function)
            payload = self.lambdas.invoke(function, params.get("Payload") or {})
        except FunctionError as exn:
            raise lambda_function_error(exn.payload, request_id) from exn
        except LambdaTimeout as exn:
            raise lambda_timeout_error(str(exn), request_id) from exn
        finally:
            self.quotas.release(function.name)
        return invoke_output(payload, request_id)

    def _acquire(self, call: Any, function: FunctionConfig) -> None:
        """The invocation's concurrency slot (quotas.py); past the account's or the function's
        reserved concurrency, Lambda.TooManyRequestsException, recorded as throttled."""
        declared = self.functions_declared.get(function.name, {})
        reserved = declared.get("ReservedConcurrentExecutions")
        try:
            self.quotas.acquire(function.name, None if reserved is None else int(reserved))
        except Throttled as exn:
            role = self.role_of(call.state_machine_arn).rsplit("/", 1)[-1]
            self.record_call(role, "lambda", "InvokeFunction", function.arn, True, 0, True)
            raise task_failure(
                "Lambda.TooManyRequestsException",
                f"{exn.message} (Service: AWSLambda; Status Code: 429; "
                "Error Code: TooManyRequestsException)",
            ) from exn

    def _check_mounts(self, function: FunctionConfig) -> None:
        """The function's EFS mounts, authorized as EFS does (:mod:`.mounts`); a denied one is
        recorded and fails the invocation with Lambda's EFSMountFailureException."""
        role = function.role_arn.rsplit("/", 1)[-1]
        for arn, _path in function.mounts:
            missing = missing_mount_permissions(self.principals, self.batch.provisioned,
                                                function.role_arn, arn)  # fmt: skip
            for action in missing:
                self.record_call(role, "elasticfilesystem", action.split(":", 1)[1], arn, False, 0)
            if missing:
                raise task_failure("Lambda.EFSMountFailureException", "The Lambda function couldn't"
                                   " mount the configured file system due to a permission or"
                                   f" configuration issue: {function.role_arn} lacks"
                                   f" {', '.join(missing)} on {arn} (Service: AWSLambda; Status"
                                   " Code: 403; Error Code: EFSMountFailureException)")  # fmt: skip

    def function(self, name: str) -> FunctionConfig:
        with self._lock:
            if name in self._functions:
                return self._functions[name]
        key = name.split(":function:", 1)[-1].split(":", 1)[0]
        props = self.functions_declared.get(key)
        if props is None:
            raise task_failure(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {name} (Service: AWSLambda; Status Code: 404; "
                "Error Code: ResourceNotFoundException)",
            )
        found = FunctionConfig.from_template(props)
        with self._lock:
            self._functions[name] = found
        return found

    def _submit_job(self, call: Any) -> Any:
        params = call.parameters if isinstance(call.parameters, dict) else {}
        role = self.role_of(call.state_machine_arn)
        # .sync: Step Functions follows the job through DescribeJobs and its managed rule
        rule = f"arn:aws:events:{self.region}:{self.account}:rule/{BATCH_SYNC_RULE}"
        for action in SYNC_RULE_ACTIONS:
            self.authorize(call.state_machine_arn, action, rule)
        self.authorize(call.state_machine_arn, "batch:DescribeJobs", "*")
        return self.batch.submit_sync(role, params, call.abort, getattr(call, "submitted", None))

    def _submit_job_sdk(self, call: Any) -> Any:
        """SubmitJob alone (no .sync: no DescribeJobs, no managed rule)."""
        params = call.parameters if isinstance(call.parameters, dict) else {}
        return self.batch.submit(self.role_of(call.state_machine_arn), params)

    def _s3_get_object(self, call: Any) -> Any:
        params = call.parameters if isinstance(call.parameters, dict) else {}
        store = S3ObjectStore(self, self.role_of(call.state_machine_arn))
        try:
            body = store.get_object(str(params.get("Bucket")), str(params.get("Key"))).decode()
        except Exception as exn:
            raise task_failure(f"S3.{_code(exn) or 'S3Exception'}", str(exn)) from exn
        return {
            "Body": body,
            "ContentLength": len(body.encode()),
            "ContentType": "application/json",
        }

    def _s3_put_object(self, call: Any) -> Any:
        params = call.parameters if isinstance(call.parameters, dict) else {}
        body = params.get("Body", "")
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        store = S3ObjectStore(self, self.role_of(call.state_machine_arn))
        try:
            store.put_object(str(params.get("Bucket")), str(params.get("Key")), text.encode())
        except Exception as exn:
            raise task_failure(f"S3.{_code(exn) or 'S3Exception'}", str(exn)) from exn
        return {"ETag": '"rehearsed"'}

    def close(self) -> None:
        for run in list(self.runs.values()):
            if not run.done:
                run.stop("wdl2sfn.RehearsalEnded", "the rehearsal stopped")
        self.lambdas.close()
        self.batch.close()
        self.calls.close()


class S3ObjectStore:
    """ItemReader/ResultWriter: S3 in moto, as the state machine's role."""

    def __init__(self, engine: RehearsalEngine, role_arn: str) -> None:
        self.engine = engine
        self.role_arn = role_arn
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            creds = self.engine.principals.credentials(self.role_arn, "states")
            self._client = self.engine.session.client(
                "s3",
                endpoint_url=self.engine.endpoint,
                aws_access_key_id=creds.access_key_id,
                aws_secret_access_key=creds.secret_access_key,
                aws_session_token=creds.session_token,
            )
        return self._client

    def get_object(self, bucket: str, key: str) -> bytes:
        return bytes(self.client().get_object(Bucket=bucket, Key=key)["Body"].read())

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=body)


def _code(exn: BaseException) -> str:
    response = getattr(exn, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _machine(engine: RehearsalEngine, arn: str) -> Any:
    from moto.stepfunctions.models import stepfunctions_backends

    return stepfunctions_backends[engine.account][engine.region].describe_state_machine(arn)


def _definitions(machines: list[Any]) -> dict[str, Any]:
    """Each machine's definition by its ARN, and each published version's by the version's
    ARN (a parent deployed by `wdl2sfn deploy` starts its children by version)."""
    found = {m.arn: m.definition for m in machines}
    for machine in machines:
        found.update({v.arn: v.definition for v in (machine.versions or {}).values()})
    return found
